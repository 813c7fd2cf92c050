"""GPU capacity finder: what a pool needs at max, what each region/zone offers, ranked (library of scripts/capacity.py)."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from components.catalog import Catalog
from components.ops import capacity_aws, capacity_gcp
from components.plan.ladder import LadderPlan
from components.catalog.vocab import AWS, Cloud

#: Ladder purchase -> quota bucket. Reserved (ODCR/GCP reservation) nodes run on the on-demand quota; capacity
#: blocks are prepaid and are not counted against the On-Demand vCPU quota (AWS Capacity Blocks docs, 2026-08).
QUOTA_PURCHASE = {"reserved": "on-demand", "on-demand": "on-demand", "spot": "spot"}

ClientFactory = Callable[[str, str], Any]


@dataclass
class ZoneRow:
    """One zone of one region: what it offers and how it ranks."""

    cloud: Cloud
    region: str
    zone: str
    offered: list[str]
    missing: list[str]
    spot_usd_h: float | None = None
    on_demand_usd_h: float | None = None
    capacity_block_fee: float | None = None
    quota_ok: bool = False
    rank: int = 0

    def sort_key(self) -> tuple:
        """Offers everything > offers some > none; then quota headroom; then the cheapest spot price."""
        coverage = 0 if not self.missing else 1 if self.offered else 2
        spot = self.spot_usd_h if self.spot_usd_h is not None else math.inf
        return (coverage, not self.quota_ok, spot, self.region, self.zone)


@dataclass
class CapacityReport:
    """Everything the finder learned for one cloud."""

    cloud: Cloud
    instance_types: list[str]
    needs: dict[str, int]
    quotas: list[dict] = field(default_factory=list)
    capacity_blocks: list[dict] = field(default_factory=list)
    zones: list[ZoneRow] = field(default_factory=list)

    def to_json(self) -> dict:
        """Plain data for --json."""
        return {"cloud": self.cloud, "instance_types": self.instance_types, "needs": self.needs,
                "quotas": self.quotas, "capacity_blocks": self.capacity_blocks,
                "zones": [asdict(z) for z in self.zones]}


def ladder_needs(ladder: LadderPlan | None, catalog: Catalog, cloud: Cloud, types: Sequence[str],
                 nodes: int = 1) -> dict[tuple[str, str], int]:
    """Returns (quota family, purchase) -> units needed at maximum scale (AWS vCPUs, GCP GPUs).

    Each rung counts max_nodes x the largest of its types (the burst may land on any of them). Without a ladder,
    `nodes` of the largest type are needed both on-demand and on spot.
    """
    def unit(name: str) -> tuple[str, int]:
        inst = catalog.instance(cloud, name)
        if inst is None:
            raise KeyError(name)
        return inst.quota_family, inst.vcpu if cloud == AWS else inst.gpu_count
    rungs = [(r.purchase, r.max_nodes, r.instance_types) for r in ladder.rungs] if ladder else \
        [("on-demand", nodes, tuple(types)), ("spot", nodes, tuple(types))]
    needs: dict[tuple[str, str], int] = {}
    for purchase, max_nodes, rung_types in rungs:
        if purchase not in QUOTA_PURCHASE or not max_nodes:
            continue
        family, per_node = max((unit(t) for t in rung_types), key=lambda u: u[1])
        key = (family, QUOTA_PURCHASE[purchase])
        needs[key] = needs.get(key, 0) + max_nodes * per_node
    return needs


def _rank(rows: list[ZoneRow]) -> list[ZoneRow]:
    rows.sort(key=ZoneRow.sort_key)
    for index, row in enumerate(rows, start=1):
        row.rank = index
    return rows


def aws_capacity(regions: Iterable[str], types: Sequence[str], needs: dict[tuple[str, str], int],
                 catalog: Catalog, factory: ClientFactory, block_count: int = 0, block_hours: int = 24,
                 page_size: int | None = None) -> CapacityReport:
    """Queries every region for offerings, spot prices, capacity blocks and quotas; returns ranked zones."""
    report = CapacityReport("aws", list(types), {f"{f}/{p}": v for (f, p), v in sorted(needs.items())})
    for region in regions:
        ec2, quotas = factory("ec2", region), factory("service-quotas", region)
        offered = capacity_aws.az_offerings(ec2, types, page_size)
        spot = capacity_aws.spot_prices(ec2, types, page_size=page_size)
        checks = capacity_aws.quota_checks(quotas, region, needs, page_size)
        report.quotas += [{**asdict(c), "headroom": c.headroom, "ok": c.ok} for c in checks]
        blocks = [b for t in types if block_count
                  for b in capacity_aws.capacity_blocks(ec2, t, block_count, block_hours, page_size)]
        report.capacity_blocks += [{"region": region, **asdict(b)} for b in blocks]
        price = catalog.price("aws", types[0], region)
        for zone, zone_types in offered.items():
            fees = [b.upfront_fee for b in blocks if b.zone == zone]
            prices = [spot[(t, zone)].price for t in zone_types if (t, zone) in spot]
            report.zones.append(ZoneRow(
                "aws", region, zone, zone_types, [t for t in types if t not in zone_types],
                spot_usd_h=min(prices) if prices else None, on_demand_usd_h=price.on_demand if price else None,
                capacity_block_fee=min(fees) if fees else None, quota_ok=all(c.ok for c in checks)))
    _rank(report.zones)
    return report


def gcp_capacity(project: str, regions: Iterable[str] | None, types: Sequence[str], needs: dict[tuple[str, str], int],
                 catalog: Catalog, factory: ClientFactory, call: dict[str, Any] | None = None) -> CapacityReport:
    """Finds zones offering the accelerator and machine types, reads GPU quotas; prices from the catalog.

    Args:
        regions: Regions to keep (None = every region offering the accelerator).
        factory: (compute client class name, unused) -> client.
        call: retry/timeout keyword arguments for every API call (clients.RetryBudget.google_call).
    """
    call = call or {}
    accelerator = catalog.instance("gcp", types[0]).accelerator
    report = CapacityReport("gcp", list(types), {f"{f}/{p}": v for (f, p), v in sorted(needs.items())})
    acc_zones = capacity_gcp.accelerator_zones(factory("AcceleratorTypesClient", ""), project, accelerator, **call)
    machine_zones = capacity_gcp.machine_type_zones(factory("MachineTypesClient", ""), project, types, **call)
    wanted = set(regions) if regions else None
    by_region: dict[str, list[str]] = {}
    for zone in acc_zones:
        region = zone.rsplit("-", 1)[0]
        if wanted is None or region in wanted:
            by_region.setdefault(region, []).append(zone)
    for region, zones in sorted(by_region.items()):
        gpu_needs = {p: v for (_, p), v in needs.items()}
        checks = capacity_gcp.gpu_quotas(factory("RegionsClient", ""), factory("ProjectsClient", ""), project,
                                         region, accelerator, gpu_needs, **call)
        report.quotas += [{**asdict(c), "headroom": c.headroom, "ok": c.ok} for c in checks]
        price = catalog.price("gcp", types[0], region)
        for zone in zones:
            offered = machine_zones.get(zone, [])
            report.zones.append(ZoneRow(
                "gcp", region, zone, offered, [t for t in types if t not in offered],
                spot_usd_h=price.spot if price else None, on_demand_usd_h=price.on_demand if price else None,
                quota_ok=all(c.ok for c in checks)))
    _rank(report.zones)
    return report


def _money(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_table(report: CapacityReport) -> str:
    """Renders the ranked zones, then the quota lines, as aligned text."""
    head = ["rank", "region", "zone", "offers", "missing", "spot $/h", "on-demand $/h", "block fee $", "quota"]
    body = [[str(z.rank), z.region, z.zone, ",".join(z.offered) or "-", ",".join(z.missing) or "-",
             _money(z.spot_usd_h), _money(z.on_demand_usd_h), _money(z.capacity_block_fee, 2),
             "ok" if z.quota_ok else "SHORT"] for z in report.zones]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    lines = [f"{report.cloud}: {', '.join(report.instance_types)}; needs at max: "
             + (", ".join(f"{k}={v}" for k, v in report.needs.items()) or "none")]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *body]]
    for q in report.quotas:
        label = q.get("code") or q.get("metric")
        scope = q.get("region") or q.get("scope")
        limit = q.get("limit_vcpu", q.get("limit"))
        need = q.get("needed_vcpu", q.get("needed"))
        lines.append(f"quota {scope} {label} {q.get('name', '')}: limit {limit} need {need} "
                     f"headroom {q['headroom']} -> {'ok' if q['ok'] else 'SHORT'}".replace("  ", " "))
    for b in report.capacity_blocks:
        lines.append(f"capacity block {b['region']} {b['zone']} {b['instance_type']} x{b['count']} "
                     f"{b['duration_hours']}h from {b['start']}: ${b['upfront_fee']:,.2f} upfront")
    return "\n".join(lines)
