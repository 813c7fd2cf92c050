"""Capacity ladder and cost model: ordering, bounds, scenario invariants, catalog agreement."""
from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.catalog import load_catalog
from components.plan.basis import plan_basis
from components.plan.cost import HOURS_PER_MONTH, estimate_cost
from components.plan.ladder import plan_ladder, plan_ladders
from components.spec import load_stack_spec
from tests.conftest import encode, raw_stack


def _spec(raw):
    config, secrets = encode(raw)
    return load_stack_spec(config, secrets)


def _with_capacity(reserved=0, on_demand=0, spot=0, fallback=False, spot_availability=0.7):
    raw = copy.deepcopy(raw_stack("prod"))
    pool = raw["gpuinfra:aws"]["gpu_pools"][0]
    pool["capacity"] = {"on_demand": on_demand, "spot": spot, "fallback_to_on_demand": fallback and spot > 0}
    if reserved:
        pool["capacity"].update(reserved=reserved, reservation="h200-use1-odcr")
        raw["gpuinfra:aws"]["reservations"][0]["count"] = reserved
    raw["gpuinfra:budget"]["spot_availability"] = spot_availability
    return _spec(raw)


def test_prod_ladder_order_and_bounds():
    spec = _spec(raw_stack("prod"))
    ladder = plan_ladder(spec, *spec.pool("h200-use1"))
    # reservations first, then spot, then on-demand only as the burst's fallback
    assert [r.tier for r in ladder.rungs] == ["reserved", "spot", "on-demand-fallback"]
    assert [r.priority for r in ladder.rungs] == sorted((r.priority for r in ladder.rungs), reverse=True)
    assert ladder.floor == 1 and ladder.max_nodes == 3  # the fallback shares the spot maximum
    assert ladder.rung("reserved").reservation == "h200-use1-odcr"
    assert ladder.rung("spot").instance_types == ("p5en.48xlarge",)


def test_every_ladder_ends_in_on_demand_or_reservation_floor_or_spot_only():
    for stack in ("dev", "staging", "prod"):
        for ladder in plan_ladders(_spec(raw_stack(stack))):
            tiers = [r.tier for r in ladder.rungs]
            assert tiers, ladder
            # a floor is never spot; spot rungs always start at zero nodes
            assert all(r.min_nodes == 0 for r in ladder.rungs if r.tier in ("spot", "on-demand-fallback"))


def test_capacity_block_without_opt_in_has_no_rung_and_no_cost():
    raw = copy.deepcopy(raw_stack("prod"))
    raw["gpuinfra:aws"]["capacity_blocks"] = [{"name": "cb-h200", "instance_type": "p5en.48xlarge", "count": 1,
                                               "duration_hours": 48, "start_after": "2026-12-01"}]
    pool = raw["gpuinfra:aws"]["gpu_pools"][0]
    pool["capacity"]["reservation"] = "cb-h200"
    spec = _spec(raw)
    assert plan_ladder(spec, *spec.pool("h200-use1")).rung("capacity-block") is None
    assert not [i for i in estimate_cost(plan_basis(spec)).items if i.purchase == "capacity-block"]
    raw["gpuinfra:aws"]["allow_capacity_block_purchase"] = True
    spec = _spec(raw)
    assert plan_ladder(spec, *spec.pool("h200-use1")).rung("capacity-block") is not None
    items = {i.resource: i for i in estimate_cost(plan_basis(spec)).items if i.purchase == "capacity-block"}
    assert set(items) == {"h200-use1-capacity-block", "cb-h200"}
    assert items["cb-h200"].hourly.worst == 0  # fully consumed by the pool: no idle block capacity


def test_dev_costs_match_catalog_prices():
    raw = copy.deepcopy(raw_stack("dev"))
    raw["gpuinfra:models"][0].pop("traffic")  # without traffic the burst counts its maximum (test_cost_traffic.py)
    spec = _spec(raw)
    (item,) = [i for i in estimate_cost(plan_basis(spec)).items if i.resource == "l4-spot-spot"]
    price = load_catalog().price("aws", "g6.xlarge", "us-east-1")
    assert item.count_min == 0 and item.count_max == 2
    assert item.hourly.worst == pytest.approx(2 * price.on_demand)
    cheapest_spot = min(p.spot for t in ("g6.xlarge", "g5.xlarge")
                        if (p := load_catalog().price("aws", t, "us-east-1")) and p.spot)
    assert item.hourly.best == pytest.approx(2 * cheapest_spot)


def test_unused_reservation_capacity_is_billed():
    raw = copy.deepcopy(raw_stack("prod"))
    raw["gpuinfra:aws"]["reservations"][0]["count"] = 3  # the pool uses 1 of 3
    items = {i.resource: i for i in estimate_cost(plan_basis(_spec(raw))).items}
    od = load_catalog().price("aws", "p5en.48xlarge", "us-east-1").on_demand
    assert items["h200-use1-odcr"].hourly.worst == pytest.approx(2 * od)
    assert items["h200-use1-reserved"].hourly.best == pytest.approx(od)


@settings(max_examples=25, deadline=None)
@given(reserved=st.integers(0, 3), on_demand=st.integers(0, 3), spot=st.integers(0, 6), fallback=st.booleans(),
       availability=st.floats(0, 1))
def test_worst_ge_expected_ge_best_and_monthly_is_730_hours(reserved, on_demand, spot, fallback, availability):
    if reserved + on_demand + spot == 0:
        spot = 1
    cost = estimate_cost(plan_basis(_with_capacity(reserved, on_demand, spot, fallback, availability)))
    for item in cost.items:
        assert item.hourly.worst >= item.hourly.expected - 1e-9 >= item.hourly.best - 2e-9
    total = cost.hourly
    assert total.worst >= total.expected - 1e-9 >= total.best - 2e-9
    assert cost.monthly.worst == pytest.approx(total.worst * HOURS_PER_MONTH)
    assert cost.monthly.best == pytest.approx(total.best * HOURS_PER_MONTH)


def test_cost_json_contract():
    doc = estimate_cost(plan_basis(_spec(raw_stack("prod")))).to_json()
    assert set(doc) == {"hourly", "monthly", "catalog_as_of", "items", "usd_per_mtok", "commitments"}
    assert set(doc["monthly"]) == {"best", "expected", "worst"}
    for item in doc["items"]:
        assert set(item) == {"resource", "type", "instance_type", "region", "count_min", "count_max", "purchase", "hourly"}
        assert item["purchase"] in ("reserved", "on-demand", "spot", "capacity-block")


def test_names_are_stable_when_pools_are_reordered():
    raw = copy.deepcopy(raw_stack("prod"))
    before = {i.resource for i in estimate_cost(plan_basis(_spec(raw))).items}
    raw["gpuinfra:aws"]["gpu_pools"].reverse()
    after = {i.resource for i in estimate_cost(plan_basis(_spec(raw))).items}
    assert before == after
