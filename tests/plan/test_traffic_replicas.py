"""Replicas from traffic (issue 20 item 3): derived per pool, checked against replicas.max and the ladders."""
from __future__ import annotations

import copy
import math

import pytest

from components.plan.traffic import with_margin
from components.plan.workloads import plan_workloads
from components.plan.basis import plan_basis
from components.spec import ConfigError, load_stack_spec
from tests.conftest import encode, plan_of, raw_stack

BASE = {"requests_per_day": 200_000, "input_tokens": {"mean": 1000, "p95": 3000},
        "output_tokens": {"mean": 300, "p95": 800}, "daily_profile": [1] * 8 + [3] * 12 + [1] * 4,
        "objectives": {"ttft_p95_seconds": 3, "itl_p95_seconds": 0.05}}


def _raw(traffic=None, stack="prod", **model):
    raw = copy.deepcopy(raw_stack(stack))
    m = raw["gpuinfra:models"][0]
    m["traffic"] = traffic or BASE
    m.update(model)
    m.setdefault("autoscaling", {}).pop("queue_depth_target", None)
    return raw


def _serving(raw, pool):
    return next(p for p in plan_of(raw).serving if p.pool == pool)


# (need, zones, replicas): the smallest n with n - ceil(n / zones) >= need (one zone of an even spread lost).
MARGINS = [(1, 3, 2), (2, 3, 3), (4, 3, 6), (4, 2, 8), (0.3, 3, 2), (5.0, 6, 6)]


@pytest.mark.parametrize("need, zones, replicas", MARGINS)
def test_zone_margin_survives_losing_one_zone(need, zones, replicas):
    assert with_margin(need, "zone", zones) == replicas
    assert replicas - math.ceil(replicas / zones) >= need  # the invariant itself
    assert with_margin(need, "none", zones) == max(1, math.ceil(need))


def test_replicas_follow_traffic_and_objectives():
    low, high = _serving(_raw(), "h100-gke"), _serving(_raw({**BASE, "requests_per_day": 2_000_000}), "h100-gke")
    t = high.traffic
    assert t.replicas_peak > low.traffic.replicas_peak
    assert t.replicas_peak >= t.replicas_average
    assert t.replica.itl_s <= 0.05 and t.replica.ttft_s <= 3
    # 2M/day x 1.5 peak/average over three pools; one replica serves t.replica.requests_per_second.
    assert t.peak_rps == pytest.approx(2_000_000 / 86_400 * 1.5 / 3)
    assert t.replicas_peak == math.ceil(t.peak_rps / t.replica.requests_per_second)
    assert max(t.hourly_replicas) == t.replicas_peak and min(t.hourly_replicas) <= t.replicas_average


def test_the_batch_at_the_objective_becomes_max_num_seqs():
    plan = _serving(_raw(), "h100-gke")
    before_raw = copy.deepcopy(raw_stack("prod"))
    for m in before_raw["gpuinfra:models"]:
        m.pop("traffic", None)
    before = _serving(before_raw, "h100-gke")
    assert plan.engine_args.max_num_seqs == math.floor(plan.traffic.replica.batch)
    assert plan.engine_args.max_num_seqs > before.engine_args.max_num_seqs  # full-length worst case was the cap


def test_queue_target_is_derived_and_reaches_the_autoscaler():
    raw = _raw()
    basis = plan_basis(load_stack_spec(*encode(raw)))
    plan = next(p for p in basis.serving if p.pool == "h100-gke")
    t = plan.traffic
    assert plan.queue_depth_target != 4 and plan.queue_depth_target >= 1
    # Waiting requests one replica drains at its capacity rate before the TTFT objective passes.
    assert plan.queue_depth_target <= t.replica.requests_per_second * 3
    w = next(w for w in plan_workloads(basis) if w.pool == "h100-gke" and not w.canary)
    assert w.queue_depth_target == plan.queue_depth_target


def test_max_too_low_for_the_peak_is_refused_with_its_key():
    with pytest.raises(ConfigError) as err:
        plan_of(_raw({**BASE, "requests_per_day": 20_000_000}, replicas={"min": 1, "max": 4}))
    assert err.value.path == "gpuinfra:models[0].replicas.max"
    assert "needs" in err.value.message and "allowed: at least" in err.value.message


def test_ladder_too_small_for_the_peak_names_the_pool_capacity():
    with pytest.raises(ConfigError) as err:
        # h200-usw2's ladder hosts 8 replicas (TP2, 4 per node, 2 nodes), below replicas.max 12.
        plan_of(_raw({**BASE, "requests_per_day": 6_000_000}, replicas={"min": 1, "max": 12}))
    assert err.value.path == "gpuinfra:aws.gpu_pools[1].capacity" and "ladder" in err.value.message


def test_an_objective_below_one_idle_replica_is_refused():
    with pytest.raises(ConfigError) as err:
        plan_of(_raw({**BASE, "objectives": {"itl_p95_seconds": 0.002}}))
    assert err.value.path == "gpuinfra:models[0].traffic.objectives.itl_p95_seconds"


def test_region_availability_needs_two_regions():
    raw = _raw({**BASE, "objectives": {"ttft_p95_seconds": 3, "availability": "region"}}, pools=["h200-use1"])
    with pytest.raises(ConfigError) as err:
        plan_of(raw)
    assert err.value.path == "gpuinfra:models[0].traffic.objectives.availability"


def test_region_availability_carries_a_lost_regions_share():
    normal = _serving(_raw(), "h100-gke").traffic
    region = _serving(_raw({**BASE, "requests_per_day": 2_000_000,
                            "objectives": {**BASE["objectives"], "availability": "region"}}), "h100-gke").traffic
    assert region.failover_share == pytest.approx(1 / 2) and normal.failover_share == pytest.approx(1 / 3)


def test_a_floor_far_above_need_is_an_advisory_warning():
    from components.plan.report import build_report
    report = build_report(plan_of(_raw(replicas={"min": 10, "max": 12})))
    assert any("far above" in w for w in report["warnings"])
