"""Cost guardrails priced from the resources themselves (the pack sees no spec): budget, expected, delta, freshness."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.catalog import PRICE_MAX_AGE_DAYS, load_catalog
from components.catalog.services import service_price, system_node_price
from components.plan.pricing import HOURS_PER_MONTH, Hourly, local_ssd_hourly, nlb_hourly, node_hourly, reservation_rate
from policies.rules.base import Finding, Rule, prop, usd
from policies.rules.fleet import ASG, GCP_RESERVATION, ODCR, Capacity, capacity, region_of
from policies.rules.view import ResourceView, from_records

ROOT = Path(__file__).resolve().parents[2]
#: Flat-priced platform resources: type token -> (services.yaml section, key).
PLATFORM = {
    "aws:eks/cluster:Cluster": ("control_planes", "eks_cluster_hour"),
    "gcp:container/cluster:Cluster": ("control_planes", "gke_cluster_hour"),
    "aws:ec2/natGateway:NatGateway": ("network", "aws_nat_gateway_hour"),
    "gcp:compute/forwardingRule:ForwardingRule": ("network", "gcp_forwarding_rule_hour"),
    "aws:ec2/eip:Eip": ("network", "aws_public_ipv4_hour"),
}
#: Priced like the plan's cost model (components/plan/pricing.py), not from one row.
PLATFORM_HOURLY = {"aws:lb/loadBalancer:LoadBalancer": nlb_hourly}


@dataclass(frozen=True)
class CostLine:
    """What one resource costs per hour (``hourly`` None when it cannot be priced, with ``problem``)."""

    resource: str
    hourly: Hourly | None
    problem: str = ""


def _capacity_line(c: Capacity, spot_availability: float) -> CostLine:
    if c.max_nodes is None:
        return CostLine(c.view.label, None, "sets no maximum node count: the worst case is unbounded")
    if not c.instance_types:
        return CostLine(c.view.label, None, "names no instance type the policy can price")
    if not c.gpu:
        price = system_node_price(c.cloud, c.instance_types[0])
        if price is None:
            return CostLine(c.view.label, None, f"{c.instance_types[0]} has no catalog price")
        return CostLine(c.view.label, Hourly(price.usd * c.min_nodes, price.usd * c.min_nodes, price.usd * c.max_nodes))
    try:
        node = node_hourly(c.cloud, c.region, c.purchase, c.instance_types, spot_availability)
    except LookupError as exc:
        return CostLine(c.view.label, None, str(exc))
    node = node + Hourly.flat(local_ssd_hourly(c.cloud, c.instance_types[0], c.local_ssds))
    n = c.max_nodes  # as the plan's cost model: a rung is priced at its maximum in every scenario
    return CostLine(c.view.label, Hourly(node.best * n, node.expected * n, node.worst * n))


def _consumes_reservation(c: Capacity) -> bool:
    """Reserved rungs, and a VM fleet's fixed on-demand base (reserved + on-demand floor launch into the ODCR)."""
    return c.purchase == "reserved" or (c.view.type == ASG and c.purchase == "on-demand" and c.min_nodes == c.max_nodes > 0)


def _reservations(views: list[ResourceView], caps: list[Capacity], s: Mapping[str, Any]) -> Iterator[CostLine]:
    """Reserved nodes no reserved rung consumes (same type and region) are billed on their own."""
    consumed: dict[tuple[str, str], int] = {}
    for c in caps:
        if c.instance_types and c.max_nodes is not None and _consumes_reservation(c):
            key = (c.instance_types[0], c.region)
            consumed[key] = consumed.get(key, 0) + c.max_nodes
    for v in views:
        if v.type == ODCR:
            itype, count = v.get("instanceType"), v.get("instanceCount", default=0)
        elif v.type == GCP_RESERVATION:
            itype = v.get("specificReservation", "instanceProperties", "machineType")
            count = v.get("specificReservation", "count", default=0)
        else:
            continue
        region = region_of(v, s)
        key = (itype, region)
        idle = max(0, int(count) - consumed.get(key, 0))
        consumed[key] = max(0, consumed.get(key, 0) - int(count))
        try:
            rate = reservation_rate(v.type.split(":")[0], str(itype), region, "reserved")
        except LookupError as exc:
            yield CostLine(v.label, None, str(exc))
            continue
        yield CostLine(v.label, Hourly.flat(idle * rate))


def resource_cost(views: list[ResourceView], settings: Mapping[str, Any]) -> list[CostLine]:
    """Hourly cost of every priced resource: node capacity, idle reservations, control planes, NAT, LBs.

    Storage is not priced (bucket contents are invisible to a plan; the plan's estimate counts it).
    The on-demand fallback rung is not priced: the spot rung's worst case already buys its nodes on demand.
    """
    spot = float(settings.get("spot_availability") or 0.0)
    caps = capacity(views, settings)
    lines = [_capacity_line(c, spot) for c in caps if c.tier != "on-demand-fallback"]
    lines += list(_reservations(views, caps, settings))
    for v in views:
        if v.type in PLATFORM:
            lines.append(CostLine(v.label, Hourly.flat(service_price(*PLATFORM[v.type]).usd)))
        elif v.type in PLATFORM_HOURLY:
            lines.append(CostLine(v.label, Hourly.flat(PLATFORM_HOURLY[v.type]())))
    return lines


def monthly_total(lines: list[CostLine]) -> Hourly:
    """Sum of the priced lines over a 730-hour month."""
    total = Hourly.flat(0.0)
    for line in lines:
        if line.hourly is not None:
            total = total + line.hourly
    return total.monthly()


def _top(lines: list[CostLine], n: int = 3) -> str:
    priced = sorted((ln for ln in lines if ln.hourly), key=lambda ln: -ln.hourly.worst)[:n]
    return ", ".join(f"{ln.resource.split(' ')[0]} {usd(ln.hourly.worst * HOURS_PER_MONTH)}" for ln in priced)


def check_budget(views: list[ResourceView], s: Mapping[str, Any]) -> Iterator[Finding]:
    """Worst-case monthly cost <= budget; unpriceable or unbounded capacity fails too (cannot be proven)."""
    lines = resource_cost(views, s)
    for line in lines:
        if line.hourly is None:
            yield Finding(line.resource, f"cannot price against the budget: {line.problem}")
    worst, budget = monthly_total(lines).worst, float(s["budget_usd"])
    if worst > budget:
        yield Finding("stack", f"worst-case {usd(worst)}/month vs budget {usd(budget)} "
                               f"(over by {usd(worst - budget)}; largest: {_top(lines)})")


def check_expected(views: list[ResourceView], s: Mapping[str, Any]) -> Iterator[Finding]:
    """Expected monthly cost (spot availability applied) <= budget x expected ratio.

    The offline plan passes its own expected total (``planned_expected_monthly``: with traffic the burst follows
    the daily profile, which recorded resources cannot show); without it the resources are priced at maximum scale.
    """
    planned = s.get("planned_expected_monthly")
    expected = float(planned) if planned is not None else monthly_total(resource_cost(views, s)).expected
    limit = float(s["budget_usd"]) * float(s["expected_ratio"])
    if expected > limit:
        yield Finding("stack", f"expected {usd(expected)}/month vs {usd(limit)} "
                               f"(budget {usd(float(s['budget_usd']))} x {s['expected_ratio']})")


def check_delta(views: list[ResourceView], s: Mapping[str, Any]) -> Iterator[Finding]:
    """Worst-case monthly increase vs a baseline plan JSON (its resources priced the same way)."""
    path = ROOT / str(s["baseline_plan"])
    if not path.is_file():
        yield Finding("stack", f"baseline plan {s['baseline_plan']} not found (write one with scripts/plan.py <stack> --json)")
        return
    baseline = monthly_total(resource_cost(from_records(json.loads(path.read_text())["resources"]), s)).worst
    now = monthly_total(resource_cost(views, s)).worst
    delta = now - baseline
    pct = 100.0 * delta / baseline if baseline else float("inf")
    if delta > 0 and pct > float(s["max_increase_pct"]):
        yield Finding("stack", f"worst-case monthly cost +{usd(delta)} (+{pct:.1f}%) vs baseline {s['baseline_plan']}: "
                               f"{usd(baseline)} -> {usd(now)} (limit +{s['max_increase_pct']}%)")


def check_catalog_age(views: list[ResourceView], s: Mapping[str, Any]) -> Iterator[Finding]:
    """Catalog prices older than the limit make every cost figure above suspect."""
    today = dt.date.fromisoformat(s["today"]) if s.get("today") else dt.date.today()
    for line in load_catalog().stale_warnings(today, int(s["catalog_max_age_days"])):
        yield Finding("catalog", line)


_REGIONS = {"aws_region": prop("string", None, "Default AWS region (provider aws:region)"),
            "gcp_region": prop("string", None, "Default GCP region (provider gcp:region)"),
            "spot_availability": prop("number", 0.7, "Share of spot nodes assumed to get spot capacity")}
_BUDGET = {"budget_usd": prop("number", None, "Monthly budget, USD (worst case, 730 h)")}

RULES = [
    Rule("budget-worst-case", "Worst-case monthly cost of the stack's resources stays within the budget.",
         "mandatory", "stack", check_budget, {**_BUDGET, **_REGIONS}, enabled_by="budget_usd", required=("budget_usd",)),
    Rule("budget-expected", "Expected monthly cost stays under budget x expected_ratio.", "advisory", "stack",
         check_expected, {**_BUDGET, "expected_ratio": prop("number", 0.8, "Share of the budget the expected cost may use"),
                          "planned_expected_monthly": prop("number", None, "The plan's expected monthly total (offline)"),
                          **_REGIONS}, enabled_by="budget_usd"),
    Rule("budget-delta", "Worst-case monthly increase against a baseline plan JSON stays under a percentage.",
         "advisory", "stack", check_delta,
         {"baseline_plan": prop("string", None, "Repo-relative plan JSON (scripts/plan.py --json) to compare with"),
          "max_increase_pct": prop("number", 10.0, "Increase (%) that is reported"), **_REGIONS},
         enabled_by="baseline_plan"),
    Rule("catalog-freshness", "Catalog prices are not older than catalog_max_age_days.", "advisory", "stack",
         check_catalog_age, {"catalog_max_age_days": prop("integer", PRICE_MAX_AGE_DAYS, "Maximum age of catalog prices, days"),
                             "today": prop("string", None, "Evaluation date (tests); default today")}),
]
