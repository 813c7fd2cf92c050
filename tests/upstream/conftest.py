"""Rendered output of the committed stacks and a few exposure/monitoring variants, planned once per session
through the real CLI (``scripts/plan.py --json --render-k8s``), in parallel processes."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, raw_stack

PUBLIC = {"exposure": "public", "public_hostname": "llm.example.com"}
ROUTING = {"enabled": True, "default_model": "llama-8b"}


def _with_secret(raw: dict) -> dict:
    return {**raw, "gpuinfra:vllm_api_key": {"secure": "set-by-pulumi-config"}}


def _staging_public() -> dict:
    raw = _with_secret(copy.deepcopy(raw_stack("staging")))
    raw["gpuinfra:serving"] = {**raw.get("gpuinfra:serving", {}), **PUBLIC, "tls_certificate": "llm-example-com",
                               "routing": ROUTING}
    return raw


def _dev_public() -> dict:
    raw = _with_secret(copy.deepcopy(raw_stack("dev")))
    raw["gpuinfra:serving"] = {**raw.get("gpuinfra:serving", {}), **PUBLIC,
                               "tls_certificate": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
                               "routing": ROUTING}
    return raw


def _staging_gke_managed() -> dict:
    raw = _staging_public()
    raw["gpuinfra:monitoring"] = {**raw.get("gpuinfra:monitoring", {}), "provider": "gke-managed"}
    return raw


#: label -> (stack, raw config or None for the committed file).
VARIANTS = {
    "prod": ("prod", lambda: _with_secret(raw_stack("prod"))),
    "staging": ("staging", None),
    "dev": ("dev", None),
    "staging-public": ("staging", _staging_public),      # GKE external ALB (Ingress + BackendConfig)
    "dev-public": ("dev", _dev_public),                  # AWS NLB with TLS, router on
    "staging-gke-managed": ("staging", _staging_gke_managed),  # GMP PodMonitoring / ClusterRules
}


@dataclass
class Rendered:
    """One planned variant: its Kubernetes objects (path, document) and its --json plan document."""

    label: str
    objects: list[tuple[Path, dict]]
    plan: dict

    def kinds(self, *kinds: str) -> list[dict]:
        return [doc for _, doc in self.objects if doc["kind"] in kinds]

    def helm_releases(self) -> list[dict]:
        return [r for r in self.plan["resources"] if r["type"] == "kubernetes:helm.sh/v3:Release"]


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> dict[str, Rendered]:
    root, procs = tmp_path_factory.mktemp("upstream-rendered"), {}
    for label, (stack, raw) in VARIANTS.items():
        base = root / label
        base.mkdir()
        argv = [sys.executable, str(ROOT / "scripts" / "plan.py"), stack, "--json", "--render-k8s", str(base / "k8s")]
        if raw is not None:
            config = base / f"Pulumi.{stack}.yaml"
            config.write_text(yaml.safe_dump({"config": raw()}))
            argv += ["--config-file", str(config)]
        procs[label] = (base, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT))
    out = {}
    for label, (base, proc) in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode in (0, 1), f"{label}: {stderr[-2000:]}"
        objects = [(p, yaml.safe_load(p.read_text())) for p in sorted((base / "k8s").rglob("*.yaml"))]
        out[label] = Rendered(label, objects, json.loads(stdout))
    return out
