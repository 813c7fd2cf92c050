"""scripts/plan.py as CI runs it (fresh processes): JSON contract, text, --render-k8s, exit statuses."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.preview.plan import DOCUMENT_KEYS

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "project"
SECRETS = ("mock-secret-fixture-hf_token", "kubeconfig-token-PLAINTEXT-7f3a")
FAKES = "tests.preview.preview_fakes"


def plan(*args, sections="build"):
    cmd = [sys.executable, str(ROOT / "scripts" / "plan.py"), *args, "--project-dir", str(FIXTURE), "--sections", f"{FAKES}:{sections}"]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)


def _variant(tmp_path, **overrides):
    doc = yaml.safe_load((FIXTURE / "prog" / "Pulumi.test.yaml").read_text())
    doc["config"].update(overrides)
    path = tmp_path / "Pulumi.variant.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


@pytest.fixture(scope="module")
def json_run(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("k8s")
    proc = plan("test", "--json", "--render-k8s", str(out_dir))
    return proc, out_dir


def test_json_document_has_exactly_the_contract_keys(json_run):
    proc, _ = json_run
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # one document, nothing else on stdout
    assert list(doc) == list(DOCUMENT_KEYS)
    assert (doc["stack"], doc["project"]) == ("test", "fixture")
    assert all(set(r) == {"type", "name", "parent", "inputs", "options"} for r in doc["resources"])
    assert len(doc["resources"]) == 11
    assert doc["outputs"]["token"] == "[secret]"
    assert doc["cost"]["catalog_as_of"] == "2025-01-15"
    assert doc["violations"] == []


def test_render_k8s_writes_one_file_per_object(json_run):
    _, out_dir = json_run
    files = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*.yaml"))
    # The Helm release and the provider are not objects; the provider name keeps clusters apart.
    assert files == [
        "fixture-k8s/configmap-serving-settings.yaml",
        "fixture-k8s/namespace-cluster-serving.yaml",
        "fixture-k8s/secret-serving-hf-token.yaml",
    ]
    secret = yaml.safe_load((out_dir / "fixture-k8s" / "secret-serving-hf-token.yaml").read_text())
    assert (secret["apiVersion"], secret["kind"]) == ("v1", "Secret")
    assert secret["stringData"] == "[secret]" or set(secret["stringData"].values()) == {"[secret]"}
    config_map = yaml.safe_load((out_dir / "fixture-k8s" / "configmap-serving-settings.yaml").read_text())
    assert (config_map["apiVersion"], config_map["kind"]) == ("v1", "ConfigMap")
    assert config_map["metadata"] == {"name": "settings", "namespace": "serving"}
    assert config_map["data"]["replicas"] == "3"


def test_secrets_appear_nowhere(json_run):
    proc, out_dir = json_run
    text = plan("test")
    everything = proc.stdout + proc.stderr + text.stdout + text.stderr
    everything += "".join(p.read_text() for p in out_dir.rglob("*.yaml"))
    for secret in SECRETS:
        assert secret not in everything


def test_text_output_tree_flags_summary_and_sections():
    proc = plan("test")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "pulumi:pulumi:Stack fixture-test" in lines
    assert "  gpuinfra:test:Store store" in lines
    (bucket,) = [line for line in lines if "Bucket store-weights" in line]
    assert bucket.startswith("    aws:s3/bucket:Bucket") and "[protect]" in bucket and "[retain]" in bucket
    assert "forceDestroy=false" in bucket
    (role,) = [line for line in lines if "Role store-reader" in line]
    assert "[ignore-changes: tags]" in role
    assert any(line.startswith("11 resources: 2 aws:ec2/launchTemplate:LaunchTemplate") for line in lines)
    for title in ("Cost", "Model fit", "Warnings", "Policy"):
        assert title in lines
    assert "  catalog as of 2025-01-15" in lines
    assert "  no violations" in lines


def test_mandatory_violation_exits_1():
    proc = plan("test", "--json", sections="build_violating")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["violations"][0]["level"] == "mandatory"


def test_config_error_exits_2_with_one_line(tmp_path):
    proc = plan("test", "--config-file", _variant(tmp_path, replicas=0))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["error: fixture:replicas: must be >= 1, got 0"]
    assert proc.stdout == ""


def test_program_error_exits_3_as_an_internal_error_with_one_line_and_traceback_on_debug(tmp_path):
    # an unexpected exception is a bug to report (exit 3), never dressed as bad input (exit 2)
    variant = _variant(tmp_path, **{"fixture:call_unknown": True})
    proc = plan("test", "--config-file", variant)
    assert proc.returncode == 3
    (line,) = proc.stderr.splitlines()
    assert line.startswith("internal error: UnknownInvokeError: ") and "'aws:ec2/getVpc:getVpc'" in line
    assert line.endswith("please report it; --debug shows the traceback)")
    debug = plan("test", "--config-file", variant, "--debug")
    assert debug.returncode == 3 and "Traceback" in debug.stderr
    in_apply = plan("test", "--config-file", _variant(tmp_path, **{"fixture:fail_in_apply": True}))
    assert in_apply.returncode == 3
    (line,) = in_apply.stderr.splitlines()
    assert line.startswith("internal error: ValueError: bucket store-weights-") and " rejected (" in line


def test_missing_stack_exits_2_naming_the_available_stacks():
    proc = plan("nope")
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert "Pulumi.nope.yaml" in line and "available stacks: test" in line
