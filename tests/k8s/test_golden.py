"""Golden manifests of whole VllmServices (dev 8B on one L4; prod 70B TP2 on EKS and TP4 on GKE).

Regenerate after an intended change with ``UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/k8s/test_golden.py``
and review the diff.
"""
from __future__ import annotations

import hashlib
import os

import pytest
import yaml

from components.preview.manifests import is_k8s_object, manifest
from tests.k8s.helpers import golden_path

CASES = [
    ("dev", "gpuinfra-dev-us-east-1-llama-8b-l4-spot", "dev-llama-8b-l4-spot.yaml"),
    ("prod", "gpuinfra-prod-us-east-1-llama-70b-h200-use1", "prod-llama-70b-h200-use1.yaml"),
    ("prod", "gpuinfra-prod-us-central1-gke-llama-70b-h100-gke", "prod-llama-70b-h100-gke.yaml"),
]


def render_service(run, service: str) -> str:
    """Every Kubernetes object the VllmService registered, as multi-document YAML in record order.

    The weight-sync script is replaced by its sha256 (the script has its own tests).
    """
    docs = []
    for record in run.resources:
        if not (is_k8s_object(record) and record.parent and record.parent["name"] == service):
            continue
        obj = manifest(record)
        if obj["kind"] == "ConfigMap":
            obj["data"] = {k: "sha256:" + hashlib.sha256(v.encode()).hexdigest() for k, v in obj["data"].items()}
        docs.append(obj)
    assert docs, f"no objects under {service}"
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False)


@pytest.mark.parametrize(("stack", "service", "golden"), CASES, ids=[c[2] for c in CASES])
def test_golden_manifests(stack, service, golden, request):
    rendered = render_service(request.getfixturevalue(f"{stack}_run"), service)
    path = golden_path(golden)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered)
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1"
    assert rendered == path.read_text(), f"{golden} changed: review, then regenerate with UPDATE_GOLDEN=1"
