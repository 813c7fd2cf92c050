"""Cost that follows traffic and $/Mtok at planned traffic (issue 20 item 4)."""
from __future__ import annotations

import copy
import math

import pytest

from components.plan.pricing import HOURS_PER_MONTH, node_hourly
from tests.conftest import plan_of, raw_stack
from tests.plan.test_traffic_replicas import BASE, _raw

BUSY = {**BASE, "requests_per_day": 2_500_000}


def _item(plan, resource):
    return next(i for i in plan.cost.items if i.resource == resource)


def test_burst_is_counted_for_the_hours_the_profile_needs_it():
    plan = plan_of(_raw(BUSY))
    serving = next(p for p in plan.serving if p.pool == "h200-use1")
    ladder = plan.ladders["h200-use1"]
    spot = ladder.rung("spot")
    hours = serving.traffic.hourly_replicas
    nodes = [math.ceil(max(2, r) / serving.replicas_per_node) for r in hours]  # replicas.min 2 (prod)
    burst = sum(min(spot.max_nodes, max(0, n - ladder.floor)) for n in nodes) / 24
    assert 0 < burst < spot.max_nodes  # the profile's quiet hours need no burst
    price = node_hourly("aws", ladder.region, "spot", spot.instance_types, plan.basis.spec.budget.spot_availability)
    item = _item(plan, "h200-use1-spot")
    assert item.hourly.expected == pytest.approx(price.expected * burst)
    assert item.hourly.best == pytest.approx(price.best * burst)        # the same hours, all on spot
    assert item.hourly.worst == pytest.approx(price.worst * spot.max_nodes)  # the guardrail: max, on-demand, 24/7


def _no_traffic(stack):
    raw = copy.deepcopy(raw_stack(stack))
    for m in raw["gpuinfra:models"]:
        m.pop("traffic", None)
    return raw


def test_without_traffic_the_burst_counts_its_maximum():
    plan = plan_of(_no_traffic("prod"))
    spot = plan.ladders["h200-use1"].rung("spot")
    price = node_hourly("aws", "us-east-1", "spot", spot.instance_types, plan.basis.spec.budget.spot_availability)
    assert _item(plan, "h200-use1-spot").hourly.expected == pytest.approx(price.expected * spot.max_nodes)
    assert plan.cost.per_mtok == ()


def test_worst_expected_best_order_holds_with_traffic():
    for traffic in (BASE, BUSY):
        c = plan_of(_raw(traffic)).cost
        assert c.hourly.worst >= c.hourly.expected >= c.hourly.best
        for item in c.items:
            assert item.hourly.worst >= item.hourly.expected - 1e-9 >= item.hourly.best - 2e-9


def test_per_mtok_formula():
    plan = plan_of(_raw(BUSY))
    u = plan.cost.per_mtok[0]
    gpu = sum(i.hourly.expected for i in plan.cost.items  # GPU nodes only: root volumes are not GPU cost
              if i.resource.startswith(("h200-use1-", "h200-usw2-", "h100-gke-")) and i.instance_type) * HOURS_PER_MONTH
    assert u.monthly_usd == pytest.approx(gpu)
    assert u.requests_per_month == pytest.approx(2_500_000 / 86_400 * 3600 * HOURS_PER_MONTH)
    assert u.input_mtok == pytest.approx(u.requests_per_month * 1000 / 1e6)
    assert u.usd_per_mtok * (u.input_mtok + u.output_mtok) == pytest.approx(u.monthly_usd)
    assert u.usd_per_mtok_input * u.input_mtok + u.usd_per_mtok_output * u.output_mtok == pytest.approx(u.monthly_usd)
    assert plan.cost.to_json()["usd_per_mtok"][0]["model"] == "llama-70b"


def test_policy_gate_reads_the_planned_figure():
    from components.plan.report import build_report
    from policies.rules import evaluate
    plan = plan_of(_raw(BASE))  # prod: max_usd_per_mtok 2.0; its floors at 200k req/day cost far more per token
    report = build_report(plan)
    figure = report["cost"]["usd_per_mtok"][0]["usd_per_mtok"]
    assert figure > 2.0
    found = [v for v in evaluate(plan.basis.spec, [], report) if v["policy"] == "usd-per-mtok"]
    assert found and found[0]["level"] == "advisory" and f"${figure:.3f}/Mtok" in found[0]["message"]


def test_budget_expected_judges_the_plans_traffic_following_total():
    from components.plan.report import build_report
    from policies.rules import evaluate
    from policies.rules.cost import check_expected
    plan = plan_of(_raw(BASE))
    report = build_report(plan)
    # The rule takes the plan's total when given one, else prices the resources at maximum scale.
    limit = {"budget_usd": 100.0, "expected_ratio": 1.0}
    assert not list(check_expected([], {**limit, "planned_expected_monthly": 99.0}))
    assert list(check_expected([], {**limit, "planned_expected_monthly": 101.0}))
    violations = evaluate(plan.basis.spec, [], report)
    assert not [v for v in violations if v["policy"] == "budget-expected"]  # prod's expected fits its ratio
