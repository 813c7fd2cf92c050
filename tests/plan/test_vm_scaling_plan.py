"""VM-mode burst scaling in the plan: every pool that can grow gets a policy bounded by its ladder."""
from __future__ import annotations

import copy

import pytest

from components.plan import names
from components.plan.bootstrap import METRICS_NAMESPACE
from tests.conftest import plan_of, raw_stack, stack_plan

POOL = "l40s-vm"


def _staging(**capacity) -> dict:
    raw = copy.deepcopy(raw_stack("staging"))
    if capacity:
        raw["gpuinfra:aws"]["gpu_pools"][0]["capacity"] = capacity
    return raw


@pytest.mark.parametrize(("capacity", "bounds"), [
    ({}, (1, 3)),                                        # committed staging: on-demand 1 + spot 2
    ({"on_demand": 1, "spot": 2, "fallback_to_on_demand": True}, (1, 3)),  # the fallback shares spot's maximum
    ({"spot": 3}, (0, 3)),                               # a spot-only fleet scales from its zero floor
    ({"on_demand": 2, "spot": 1}, (2, 3)),               # scale-in stops at the on-demand floor
])
def test_the_fleet_policy_is_bounded_by_the_ladder(capacity, bounds):
    plan = plan_of(_staging(**capacity))
    ladder = plan.ladders[POOL]
    scaling = plan.aws.vm_scaling[POOL]
    on_demand, spot = ladder.rung("on-demand"), ladder.rung("spot")
    # The ladder's own numbers: floor = the on-demand rung, ceiling = floor + the spot burst's maximum.
    assert (scaling.min_nodes, scaling.max_nodes) == bounds
    assert scaling.min_nodes == (on_demand.min_nodes if on_demand else 0)
    assert scaling.max_nodes == scaling.min_nodes + spot.max_nodes
    assert scaling.group == names.fleet_name(POOL)


def test_the_target_is_the_models_queue_depth_per_vm_and_the_metric_is_the_published_one():
    raw = _staging()
    raw["gpuinfra:models"][0]["autoscaling"] = {"queue_depth_target": 7}
    scaling = plan_of(raw).aws.vm_scaling[POOL]
    assert scaling.target_value == 7.0
    # Average of one data point per VM and minute: the per-capacity shape target tracking needs.
    assert scaling.statistic == "Average" and scaling.namespace == METRICS_NAMESPACE
    assert dict(scaling.dimensions) == {"Pool": POOL}
    assert scaling.waiting_metric == "vllm:num_requests_waiting"  # vllm_metrics.yaml, every release since 0.4.0


@pytest.mark.parametrize("capacity", [
    {"on_demand": 3},                                         # on-demand only: min = max, nothing to scale
    {"reserved": 1, "reservation": "l40s-odcr", "on_demand": 2},  # a reserved floor is never a policy's
])
def test_fixed_fleets_get_no_policy(capacity):
    raw = _staging(**capacity)
    if "reservation" in capacity:
        raw["gpuinfra:aws"]["reservations"] = [{
            "name": "l40s-odcr", "availability_zone": "us-east-2b", "instance_type": "g6e.xlarge", "count": 1,
            "match": "targeted", "end_date": "2027-03-31"}]
    assert plan_of(raw).aws.vm_scaling == {}


def test_eks_stacks_have_no_vm_policies():
    assert stack_plan("dev").aws.vm_scaling == {} and stack_plan("prod").aws.vm_scaling == {}
