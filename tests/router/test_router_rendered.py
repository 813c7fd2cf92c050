"""The router's objects in the offline plan's --render-k8s output: schemas, CRD shapes, checkov, no key values."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from components.catalog.versions import eks_kubernetes_version
from components.preview.config import secret_placeholder
from tests.conftest import ROOT, require_tool
from tests.router.helpers import CLUSTER_SCOPED, ROUTER_CRD_REQUIRED, is_router_doc, raw_variant

SKIPS_FILE = ROOT / "tests" / "k8s" / "checkov_skips.yaml"  # the serving layer's skip list (same contract)
SECRET = "gpuinfra:vllm_api_key"
PUBLIC = {"exposure": "public", "public_hostname": "llm.example.com"}
VARIANTS = {
    # prod: two AWS clusters (internal NLB) and GKE; 70B + 8B with tiers and a rate limit.
    "prod": ("prod", lambda: raw_variant("prod", secrets=("vllm_api_key",))),
    # AWS public: TLS on the NLB with the ACM certificate.
    "dev-public": ("dev", lambda: {**raw_variant("dev", routing={"enabled": True, "default_model": "llama-8b"},
                                                 secrets=("vllm_api_key",)),
                                   "gpuinfra:serving": {"namespace": "llm", **PUBLIC, "tls_certificate":
                                                        "arn:aws:acm:us-east-1:123456789012:certificate/abc",
                                                        "routing": {"enabled": True, "default_model": "llama-8b"}}}),
    # GKE public: external Application Load Balancer (Ingress) with the Google-managed certificate.
    "staging-public": ("staging", lambda: {**raw_variant("staging", secrets=("vllm_api_key",)),
                                           "gpuinfra:serving": {"namespace": "llm", **PUBLIC,
                                                                "tls_certificate": "llm-example-com",
                                                                "routing": {"enabled": True,
                                                                            "default_model": "llama-8b"}}}),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """Each variant planned by the real CLI on the real program (parallel processes)."""
    root, procs = tmp_path_factory.mktemp("router-rendered"), {}
    for label, (stack, raw) in VARIANTS.items():
        base = root / label
        base.mkdir()
        config = base / f"Pulumi.{stack}.yaml"
        config.write_text(yaml.safe_dump({"config": raw()}))
        argv = [sys.executable, str(ROOT / "scripts" / "plan.py"), stack, "--json", "--render-k8s", str(base / "k8s"),
                "--config-file", str(config)]
        procs[label] = (base, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT))
    out = {}
    for label, (base, proc) in procs.items():
        stdout, stderr = proc.communicate(timeout=180)
        assert proc.returncode in (0, 1), stderr
        out[label] = (base / "k8s", stdout)
    return out


def router_docs(directory: Path) -> list[tuple[Path, dict]]:
    docs = [(p, yaml.safe_load(p.read_text())) for p in sorted(directory.rglob("*.yaml"))]
    return [(p, d) for p, d in docs if is_router_doc(d)]


def lookup(obj, dotted: str):
    for part in dotted.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


@pytest.mark.parametrize("label", list(VARIANTS))
def test_router_manifests_validate(rendered, label):
    docs = router_docs(rendered[label][0])
    kinds = {d["kind"] for _, d in docs}
    assert {"Gateway", "HTTPRoute", "SecurityPolicy", "EnvoyExtensionPolicy", "Secret"} <= kinds
    version = f"{eks_kubernetes_version()}.0"
    for path, doc in docs:
        required = ROUTER_CRD_REQUIRED.get((doc["apiVersion"], doc["kind"]))
        if required is None:
            assert "." not in doc["apiVersion"].split("/")[0] or doc["apiVersion"].startswith("networking.k8s.io"), \
                f"{path.name}: unknown custom kind {doc['kind']}"
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{path.name}: {exc.message} at {list(exc.path)}")
            continue
        assert doc["metadata"].get("name"), path.name
        assert bool(doc["metadata"].get("namespace")) != (doc["kind"] in CLUSTER_SCOPED), path.name
        missing = [field for field in required if not lookup(doc, field)]
        assert not missing, f"{path.name}: missing {missing}"


def test_public_exposure_terminates_tls_with_the_certificate(rendered):
    aws = {d["kind"]: d for _, d in router_docs(rendered["dev-public"][0])}
    service = aws["EnvoyProxy"]["spec"]["provider"]["kubernetes"]["envoyService"]
    assert service["annotations"]["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"].startswith("arn:aws:acm")
    gke = {d["kind"]: d for _, d in router_docs(rendered["staging-public"][0])}
    assert gke["Ingress"]["metadata"]["annotations"]["ingress.gcp.kubernetes.io/pre-shared-cert"] == "llm-example-com"
    assert gke["Ingress"]["metadata"]["annotations"]["kubernetes.io/ingress.allow-http"] == "false"


def test_checkov_passes_on_the_router_manifests(rendered, tmp_path):
    checkov = require_tool("checkov", str(ROOT / ".venv-checkov" / "bin" / "checkov"))
    for label, (directory, _) in rendered.items():
        target = tmp_path / label
        target.mkdir()
        for path, _ in router_docs(directory):
            (target / f"{path.parent.name}-{path.name}").write_text(path.read_text())
    skips = ",".join(e["id"] for e in yaml.safe_load(SKIPS_FILE.read_text()))
    proc = subprocess.run([checkov, "-d", str(tmp_path), "--framework", "kubernetes", "--quiet", "--compact",
                           "--skip-check", skips, "--output", "json"], capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [(c["check_id"], c["resource"]) for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    assert sum(r.get("summary", {}).get("passed", 0) for r in reports) > 0 and failed == [], failed


@pytest.mark.parametrize("label", list(VARIANTS))
def test_no_key_value_in_rendered_files_or_the_plan(rendered, label):
    directory, plan_json = rendered[label]
    value = secret_placeholder(SECRET)
    document = json.loads(plan_json)
    secrets = [r for r in document["resources"] if r["type"] == "kubernetes:core/v1:Secret" and "-router-" in r["name"]]
    assert secrets and all(r["inputs"]["stringData"] == "[secret]" for r in secrets)
    assert value not in plan_json
    for path in directory.rglob("*"):
        if path.is_file():
            assert value not in path.read_text(), path
