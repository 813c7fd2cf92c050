"""Issue 16: one offline plan runs ``plan_stack`` once, and each ladder and (model, pool) sizing once."""
from __future__ import annotations

import pytest

from components.preview.plan_calls import count_calls
from tests.conftest import ROOT, STACKS, raw_stack, stack_plan


@pytest.mark.slow
@pytest.mark.parametrize("stack", STACKS)
def test_each_decision_is_made_once_per_plan(stack):
    counts = count_calls(ROOT, stack)
    plan = stack_plan(stack)
    pairs = sum(len(m["pools"]) for m in raw_stack(stack)["gpuinfra:models"])
    assert counts["plan_stack"] == 1
    assert counts["plan_serving"] == counts["estimate_cost"] == counts["plan_routes"] == counts["plan_workloads"] == 1
    assert counts["plan_ladder"] == len(plan.ladders)
    assert counts["plan_model_on_pool"] == pairs == len(plan.serving)
