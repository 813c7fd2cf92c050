"""Replica maxima (with the canary) against what the pools' capacity ladders can host: plan-time errors."""
from __future__ import annotations

import copy

import pytest

from components.plan.sizing import plan_serving
from components.preview.run import ProgramExit
from components.spec import ConfigError, load_stack_spec
from tests.conftest import encode, plan_of, raw_stack
from tests.k8s.helpers import run_fixture


def dev_with(**model_changes) -> dict:
    raw = copy.deepcopy(raw_stack("dev"))
    raw["gpuinfra:models"][0].update(model_changes)
    if "canary" in model_changes:  # a Kubernetes canary needs the router (checks.check_canary_routing)
        raw["gpuinfra:serving"] = {**raw["gpuinfra:serving"], "routing": {"enabled": True}}
    return raw


def dev_capacity() -> int:
    """Replicas the dev pool's ladder hosts (spot 2 nodes x 1 replica per L4 node), from the plan."""
    return plan_serving(load_stack_spec(*encode(raw_stack("dev"))))[0].max_replicas


def test_committed_stacks_fit():
    for stack in ("dev", "staging", "prod"):
        plan_of(raw_stack(stack))  # no ConfigError


@pytest.mark.parametrize(("replicas", "canary", "ok"), [
    ({"min": 0, "max": 2}, None, True),                                  # the committed dev stack: 2 of 2
    ({"min": 0, "max": 3}, None, False),                                 # one more than two L4 nodes host
    ({"min": 0, "max": 1}, {"revision": "abc123", "percent": 10}, True),  # 1 stable + 1 canary = 2
    ({"min": 0, "max": 2}, {"revision": "abc123", "percent": 10}, False),  # 2 + 1 canary > 2
])
def test_replica_maximum_vs_pool_capacity(replicas, canary, ok):
    raw = dev_with(replicas=replicas, **({"canary": canary} if canary else {}))
    if ok:
        plan_of(raw)
        return
    with pytest.raises(ConfigError) as err:
        plan_of(raw)
    assert err.value.path == "gpuinfra:models[0].replicas.max"
    assert f"{replicas['max']} replicas" in err.value.message and f"{dev_capacity()} replicas" in err.value.message


def test_canary_alone_filling_a_pool_is_refused():
    raw = dev_with(replicas={"min": 0, "max": 1}, canary={"revision": "abc123", "percent": 10, "replicas": 2})
    with pytest.raises(ConfigError) as err:
        plan_of(raw)
    assert err.value.path == "gpuinfra:models[0].canary.replicas"
    assert "l4-spot" in err.value.message


def test_program_exits_2_before_registering_anything():
    with pytest.raises(ProgramExit) as exc:
        run_fixture("dev", dev_with(replicas={"min": 0, "max": 5}))
    assert exc.value.code == 2
    assert exc.value.resources == []
