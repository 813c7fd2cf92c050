"""Plan-time routing errors: each bad setting fails with its key path (and the CLI exits 2)."""
from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from components.spec import ConfigError
from tests.conftest import ROOT, raw_stack
from tests.router.helpers import raw_variant, spec_of

R = "gpuinfra:serving.routing"
CASES = [
    # (id, routing changes, model changes, secrets, expected key path, message fragment)
    ("default to an unknown model", {"default_model": "llama-7b"}, None, (), f"{R}.default_model", "did you mean"),
    ("tier to an unknown model", {"tiers": [{"value": "premium", "model": "gpt-4"}]}, None, (),
     f"{R}.tiers[0].model", "not a served model"),
    ("two tier rules with one value: the second never matches",
     {"tiers": [{"value": "free", "model": "llama-8b"}, {"value": "free", "model": "llama-70b"}]}, None, (),
     f"{R}.tiers[1].value", "shadowed by tiers[0]"),
    ("tier and override share a header: one shadows the other", {"override_header": "x-user-tier"}, None, (),
     f"{R}.override_header", "also tier_header"),
    ("a routing header reuses the gateway's model header", {"tier_header": "X-Gateway-Model-Name"}, None, (),
     f"{R}.tier_header", "set by the gateway"),
    ("a header name with a space", {"user_header": "x user"}, None, (), f"{R}.user_header", "not a header name"),
    ("internal client that has no key", {"internal_clients": ["qa"]}, None, (), f"{R}.internal_clients[0]",
     "not a client"),
    ("per-client keys without the secret", {"clients": ["acme"]}, None, (), f"{R}.clients", "router_api_keys"),
    ("'default' listed as a client", {"clients": ["default"]}, None, ("router_api_keys",), f"{R}.clients[0]",
     "implicit"),
    ("a model named like the router alias", {}, {"llama-8b": {"name": "auto"}}, (), "gpuinfra:models[1].name",
     "alias"),
    ("canary above 100 %", {}, {"llama-8b": {"canary": {"revision": "abc123", "percent": 101}}}, (),
     "gpuinfra:models[1].canary.percent", "101"),
    ("canary below 0 %", {}, {"llama-8b": {"canary": {"revision": "abc123", "percent": -1}}}, (),
     "gpuinfra:models[1].canary.percent", "-1"),
]


@pytest.mark.parametrize("routing, models, secrets, path, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_routing_is_a_config_error_naming_the_key(routing, models, secrets, path, fragment):
    raw = raw_variant("prod", routing=routing, models=models, secrets=secrets)
    if models and any("name" in v for v in models.values()):  # keep the rules pointing at the renamed model
        raw["gpuinfra:serving"]["routing"] = {"enabled": True}
    with pytest.raises(ConfigError) as err:
        spec_of(raw)
    assert err.value.path == path, str(err.value)
    assert fragment in err.value.message


def test_a_route_to_a_model_served_only_on_vm_pools_is_an_error():
    """staging: AWS runs VM fleets (no router there). Split its model: one copy on the VM pool only, one on GKE."""
    raw = copy.deepcopy(raw_stack("staging"))
    vm_pools = [p["name"] for p in raw["gpuinfra:aws"]["gpu_pools"]]
    gke_pools = [p["name"] for p in raw["gpuinfra:gcp"]["gpu_pools"]]
    # Without staging's traffic section: one replica per copy could not serve it (a check of its own).
    model = {k: v for k, v in raw["gpuinfra:models"][0].items() if k != "traffic"}
    one = {"min": 1, "max": 1}  # each copy now has half the capacity
    vm_copy = {k: v for k, v in model.items() if k != "canary"}  # a canary on VM pools only is refused
    raw["gpuinfra:models"] = [{**vm_copy, "pools": vm_pools, "replicas": one},
                              {**model, "name": "gke-copy", "pools": gke_pools, "replicas": one}]
    raw["gpuinfra:serving"] = {**raw["gpuinfra:serving"], "routing": {"enabled": True, "default_model": model["name"]}}
    with pytest.raises(ConfigError) as err:
        spec_of(raw)
    assert err.value.path == f"{R}.default_model" and "no cluster the router runs in" in err.value.message
    raw["gpuinfra:serving"]["routing"]["default_model"] = "gke-copy"
    assert spec_of(raw).serving.routing.default_model == "gke-copy"  # the same stack routing to a GKE model


def test_the_cli_exits_2_and_names_the_key(tmp_path):
    raw = raw_variant("prod", routing={"tiers": [{"value": "free", "model": "llama-8b"},
                                                 {"value": "free", "model": "llama-70b"}]})
    config = tmp_path / "Pulumi.prod.yaml"
    config.write_text(yaml.safe_dump({"config": raw}))
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "plan.py"), "prod", "--config-file", str(config)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"{R}.tiers[1].value" in proc.stderr + proc.stdout


def test_committed_stacks_pass_the_routing_checks(stack_name):
    spec_of(raw_stack(stack_name))
