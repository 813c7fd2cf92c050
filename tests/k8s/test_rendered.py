"""The offline plan's --render-k8s output: Kubernetes schemas, CRD shapes, checkov, and no secret plaintext."""
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
from tests.k8s.helpers import FIXTURE, variant

SKIPS_FILE = ROOT / "tests" / "k8s" / "checkov_skips.yaml"
SECRET_KEYS = ("gpuinfra:vllm_api_key", "gpuinfra:hf_token")
#: Custom resources the serving layer renders: required fields per (apiVersion, kind). kubernetes-validate
#: ships only built-in schemas, so these are checked here against the CRDs' documented required fields.
CRD_REQUIRED = {
    ("keda.sh/v1alpha1", "ScaledObject"): ("spec.scaleTargetRef.name", "spec.triggers"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"): ("spec.podIdentity.provider",),
    ("monitoring.coreos.com/v1", "ServiceMonitor"): ("spec.selector", "spec.endpoints"),
    ("monitoring.coreos.com/v1", "PrometheusRule"): ("spec.groups",),
    ("monitoring.googleapis.com/v1", "PodMonitoring"): ("spec.selector", "spec.endpoints"),
    ("monitoring.googleapis.com/v1", "ClusterRules"): ("spec.groups",),
}
VARIANTS = {
    "dev": ("dev", None),
    "prod": ("prod", None),
    # GKE with a canary, managed Prometheus, both secrets set as `secure:` values.
    "staging-managed": ("staging", lambda: {**variant("staging", monitoring={"provider": "gke-managed"}),
                                            **{key: {"secure": "set-by-pulumi-config"} for key in SECRET_KEYS}}),
    # KEDA off: the HPA fallback; public exposure with TLS on EKS.
    "dev-hpa-public": ("dev", lambda: {**variant("dev", serving={
        "namespace": "llm", "enable_keda": False, "exposure": "public", "public_hostname": "llm.example.com",
        "tls_certificate": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}),
        "gpuinfra:vllm_api_key": {"secure": "set-by-pulumi-config"}}),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """Each variant planned by the real CLI (scripts/plan.py --json --render-k8s) on the fixture program."""
    root, procs = tmp_path_factory.mktemp("rendered"), {}
    for label, (stack, raw) in VARIANTS.items():  # the CLI runs in parallel (one process each)
        base = root / label
        base.mkdir()
        argv = [sys.executable, str(ROOT / "scripts" / "plan.py"), stack, "--project-dir", str(FIXTURE), "--json",
                "--render-k8s", str(base / "k8s")]
        if raw is not None:
            config = base / f"Pulumi.{stack}.yaml"
            config.write_text(yaml.safe_dump({"config": raw()}))
            argv += ["--config-file", str(config)]
        procs[label] = (base, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT))
    out = {}
    for label, (base, proc) in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode in (0, 1), stderr  # 1: a mandatory policy finding, still a plan
        out[label] = (base / "k8s", stdout)
    return out


def documents(directory: Path) -> list[tuple[Path, dict]]:
    return [(path, yaml.safe_load(path.read_text())) for path in sorted(directory.rglob("*.yaml"))]


def lookup(obj: dict, dotted: str):
    for part in dotted.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def is_builtin(doc: dict, version: str) -> bool:
    """True when kubernetes-validate ships a schema for the object's apiVersion/kind at ``version``."""
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except (kubernetes_validate.SchemaNotFoundError, FileNotFoundError):
        return False
    except kubernetes_validate.ValidationError:
        return True
    return True


@pytest.mark.parametrize("label", list(VARIANTS))
def test_manifests_validate_against_the_cluster_version(rendered, label):
    """Built-in kinds strictly against the cluster version's schemas; custom resources by their required fields
    (CRD_REQUIRED for the serving layer's kinds; other components' CRs at least name + spec)."""
    version = f"{eks_kubernetes_version()}.0"
    docs = documents(rendered[label][0])
    assert any(d["kind"] == "Deployment" for _, d in docs)
    for path, doc in docs:
        if is_builtin(doc, version):
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{path.name}: {exc.message} at {list(exc.path)}")
            continue
        required = CRD_REQUIRED.get((doc["apiVersion"], doc["kind"]), ("spec",))
        assert doc["metadata"].get("name"), path.name
        missing = [field for field in required if not lookup(doc, field)]
        assert not missing, f"{path.name}: missing {missing}"


def test_serving_custom_resources_are_all_checked(rendered):
    """Every custom resource the serving layer renders has its required fields listed in CRD_REQUIRED."""
    version = f"{eks_kubernetes_version()}.0"
    seen = set()
    for directory, _ in rendered.values():
        for path, doc in documents(directory):
            if "gpuinfra.dev/model" in doc["metadata"].get("labels", {}) and not is_builtin(doc, version):
                assert (doc["apiVersion"], doc["kind"]) in CRD_REQUIRED, path.name
                assert doc["metadata"].get("namespace") == "llm", path.name
                seen.add(doc["kind"])
    assert {"ScaledObject", "ServiceMonitor", "PodMonitoring"} <= seen  # routes are the router's (tests/router)


def _skips() -> list[dict]:
    entries = yaml.safe_load(SKIPS_FILE.read_text())
    assert all(set(e) == {"id", "reason"} and len(e["reason"]) > 40 for e in entries), "each skip needs a reason"
    return entries


def _checkov(checkov: str, directory: Path, *selection: str) -> subprocess.Popen:
    return subprocess.Popen([checkov, "-d", str(directory), "--framework", "kubernetes", "--quiet", "--compact",
                             *selection, "--output", "json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _report(proc: subprocess.Popen) -> tuple[list[tuple[str, str]], int]:
    """(failed (check id, resource) pairs, passed count) of one finished checkov run."""
    report = json.loads(proc.communicate(timeout=300)[0])
    reports = report if isinstance(report, list) else [report]
    failed = [(c["check_id"], c["resource"]) for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    return failed, sum(r.get("summary", {}).get("passed", 0) for r in reports)


@pytest.fixture(scope="module")
def checkov_scans(rendered) -> dict[str, tuple[list, int]]:
    """Two scans over every variant's manifests, run concurrently: with the skip list, and only its checks."""
    checkov = require_tool("checkov", str(ROOT / ".venv-checkov" / "bin" / "checkov"))
    root = next(iter(rendered.values()))[0].parent.parent
    ids = ",".join(e["id"] for e in _skips())
    procs = {"skipped": _checkov(checkov, root, "--skip-check", ids), "only": _checkov(checkov, root, "--check", ids)}
    return {name: _report(proc) for name, proc in procs.items()}


def test_checkov_passes_except_the_skip_list(checkov_scans):
    failed, passed = checkov_scans["skipped"]
    assert passed > 200 and failed == [], failed


def test_skip_list_is_still_needed(checkov_scans):
    """Every skipped check fails without the skip somewhere (otherwise drop it from the list)."""
    failed, _ = checkov_scans["only"]
    assert {check for check, _ in failed} == {e["id"] for e in _skips()}


@pytest.mark.parametrize("label", ["staging-managed", "dev-hpa-public"])
def test_no_secret_value_in_any_rendered_file_or_the_json_plan(rendered, label):
    directory, plan_json = rendered[label]
    document = json.loads(plan_json)
    values = [secret_placeholder(k) for k in SECRET_KEYS if k in json.dumps(VARIANTS[label][1]())]
    assert values
    # The program did receive the value (so the scan below is not vacuous): the Secret exists, redacted.
    secrets = [r for r in document["resources"] if r["type"] == "kubernetes:core/v1:Secret" and "keys" in r["name"]]
    assert secrets and all(r["inputs"]["stringData"] == "[secret]" for r in secrets)
    for value in values:
        assert value not in plan_json
        for path in directory.rglob("*"):
            if path.is_file():
                assert value not in path.read_text(), path
