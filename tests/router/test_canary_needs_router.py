"""A canary on Kubernetes needs the router: refused without it at plan time, served through it in staging."""
from __future__ import annotations

import copy
import re
import subprocess
import sys

import pytest
import yaml

from components.k8s.manifests.names import workload_name
from components.plan.routing import BUCKET_HEADER, canary_bucket
from components.preview.run import ProgramExit
from components.spec import ConfigError
from tests.conftest import ROOT, raw_stack
from tests.k8s.helpers import committed_run, run_fixture
from tests.router.helpers import spec_of

CANARY_KEY = "gpuinfra:models[0].canary"


def staging_without_router() -> dict:
    """staging as it was committed before: GKE canary, ``serving.routing`` left at its default (disabled)."""
    raw = copy.deepcopy(raw_stack("staging"))
    raw["gpuinfra:serving"] = {k: v for k, v in raw["gpuinfra:serving"].items() if k != "routing"}
    return raw


def test_a_kubernetes_canary_without_the_router_is_refused_naming_the_key():
    with pytest.raises(ConfigError) as err:
        spec_of(staging_without_router())
    assert err.value.path == CANARY_KEY
    assert "l4-gke" in err.value.message and "serving.routing.enabled" in err.value.message


def test_the_program_exits_2_before_registering_anything():
    with pytest.raises(ProgramExit) as exc:
        run_fixture("staging", staging_without_router())
    assert exc.value.code == 2 and exc.value.resources == []


def test_the_cli_prints_one_line_and_exits_2(tmp_path):
    config = tmp_path / "Pulumi.staging.yaml"
    config.write_text(yaml.safe_dump({"config": staging_without_router()}))
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "plan.py"), "staging", "--config-file", str(config)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if CANARY_KEY in line]
    assert len(errors) == 1 and "routing.enabled" in errors[0]


def _vm_only_canary() -> dict:
    """staging with its canaried model served on the AWS VM fleet only (no cluster, so no router)."""
    raw = staging_without_router()
    raw["gpuinfra:models"][0]["pools"] = [p["name"] for p in raw["gpuinfra:aws"]["gpu_pools"]]
    raw["gpuinfra:models"][0]["replicas"] = {"min": 1, "max": 2}
    raw.pop("gpuinfra:gcp")
    for key in ("gcp:project", "gcp:region"):
        raw.pop(key)
    return raw


def test_a_canary_only_on_vm_pools_is_refused_not_ignored():
    # VM fleets (ASG instance refresh, MIG updates) run one revision: before, this canary planned and nothing ran it.
    with pytest.raises(ConfigError) as err:
        spec_of(_vm_only_canary())
    assert err.value.path == CANARY_KEY
    assert "only on VM-mode pools (l40s-vm)" in err.value.message


def test_a_canary_on_a_model_with_vm_pools_too_is_reported():
    """staging serves llama-8b on GKE (canary behind the router) and on an AWS VM fleet (stable only)."""
    from components.plan.report import canary_warnings  # noqa: PLC0415

    warnings = canary_warnings(spec_of(raw_stack("staging")))
    assert warnings == ["gpuinfra:models[0].canary takes 10% of the Kubernetes clusters' traffic only: its VM-mode "
                        "pools (l40s-vm) serve the stable revision"]
    assert canary_warnings(spec_of(raw_stack("prod"))) == []


def _cluster(record) -> str:
    return str(record.options.get("provider", "")).split("::")[0]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_http_route_attaches_to_a_gateway_the_program_creates_on_its_cluster(stack):
    """Gateway API: a route is only served by a Gateway listed in parentRefs; one nobody creates serves nothing."""
    run = committed_run(stack)
    gateways = {(_cluster(r), r.inputs["metadata"].get("namespace"), r.inputs["metadata"]["name"])
                for r in run.resources if r.inputs.get("kind") == "Gateway"}
    routes = [r for r in run.resources if r.inputs.get("kind") == "HTTPRoute"]
    for route in routes:
        for parent in route.inputs["spec"]["parentRefs"]:
            assert parent["kind"] == "Gateway"
            key = (_cluster(route), parent.get("namespace", route.inputs["metadata"]["namespace"]), parent["name"])
            assert key in gateways, f"{stack}: {route.name} attaches to {key}, which no resource creates"


def test_staging_serves_its_canary_through_the_router():
    run, spec = committed_run("staging"), spec_of(raw_stack("staging"))
    model, percent = spec.models[0], spec.models[0].canary.percent
    canary_service = workload_name(model.name, "l4-gke", canary=True)
    rules = [rule for r in run.resources if r.inputs.get("kind") == "HTTPRoute" for rule in r.inputs["spec"]["rules"]
             if any(b["name"] == canary_service for b in rule.get("backendRefs", []))]
    assert rules, "no route reaches the canary Service"
    patterns = {h["value"] for rule in rules for match in rule["matches"] for h in match["headers"]
                if h["name"] == BUCKET_HEADER}
    users = [f"user-{i}" for i in range(2000)]
    share = sum(any(re.fullmatch(p, f"{canary_bucket(u):02d}") for p in patterns) for u in users) / len(users)
    assert abs(share * 100 - percent) < 3, share
