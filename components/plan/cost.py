"""Hourly and monthly cost of a stack at best, expected and worst case, item by item."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from components.catalog import load_catalog
from components.plan import names
from components.plan.basis import PlanBasis
from components.plan.ladder import LadderPlan, Rung
from components.plan.pricing import (  # noqa: F401  (Hourly and the constants are part of this module's API)
    GB_PER_GIB, HOURS_PER_MONTH, Hourly, local_ssd_hourly, node_hourly, reservation_rate,
)
from components.catalog.vocab import AWS, Cloud
from components.plan.cost_items import CostItem, platform_items, storage_items
from components.plan.commitments import CommitmentLine, committed_rate, plan_commitments
from components.plan.cost_network import network_items
from components.plan.storage import billed_local_ssd, local_ssd_count
from components.plan.unit_cost import UnitCost, burst_nodes, unit_costs
from components.spec import StackSpec


_RUNG_TYPES = {
    ("aws", "eks"): "aws:eks/nodeGroup:NodeGroup", ("aws", "vm"): "aws:autoscaling/group:Group",
    ("gcp", "gke"): "gcp:container/nodePool:NodePool",
    ("gcp", "vm"): "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager",
}


def _node_hourly(spec: StackSpec, ladder: LadderPlan, rung: Rung) -> Hourly:
    """Price of one node of ``rung`` (the cheapest priced type for spot, the first type otherwise)."""
    return node_hourly(ladder.cloud, ladder.region, rung.purchase, rung.instance_types, spec.budget.spot_availability)


def _ssd_hourly(basis: PlanBasis, ladder: LadderPlan, instance_type: str) -> float:
    """Billed local SSD per node-hour (GCP optional SSDs); 0 where bundled or instance store."""
    inst = load_catalog().instance(ladder.cloud, instance_type)
    if not billed_local_ssd(inst):
        return 0.0
    weights = basis.pool_weights_gib(ladder.pool)
    return local_ssd_hourly(ladder.cloud, instance_type, local_ssd_count(inst, weights))


def _mode(spec: StackSpec, cloud: Cloud) -> str:
    return spec.aws.mode if cloud == AWS and spec.aws else spec.gcp.mode if spec.gcp else "vm"


def _rung_items(basis: PlanBasis, ladder: LadderPlan) -> list[CostItem]:
    spec = basis.spec
    mode = _mode(spec, ladder.cloud)
    items = []
    for rung in ladder.rungs:
        if rung.tier == "on-demand-fallback":
            continue  # priced in the spot rung's worst case (same maximum, on-demand price)
        node = _node_hourly(spec, ladder, rung) + Hourly.flat(_ssd_hourly(basis, ladder, rung.instance_types[0]))
        if (rate := committed_rate(basis, ladder, rung)) is not None:  # a Savings Plan / CUD on the floor
            node = Hourly.flat(rate + _ssd_hourly(basis, ladder, rung.instance_types[0]))
        n = rung.max_nodes
        # With traffic the burst counts the nodes the traffic needs, hour by hour (components/plan/unit_cost.py);
        # worst stays the maximum at on-demand around the clock.
        used = burst_nodes(basis, ladder.pool, ladder.floor, n) if rung.tier == "spot" else None
        mean = n if used is None else used
        # AWS VM mode: one mixed group per pool, except a reserved floor (own group in the reservation's AZ).
        vm_fleet = (ladder.cloud, mode) == (AWS, "vm") and rung.tier not in ("reserved", "capacity-block")
        resource = names.fleet_name(ladder.pool) if vm_fleet else names.rung_name(ladder.pool, rung.tier)
        items.append(CostItem(resource, _RUNG_TYPES[(ladder.cloud, mode)], rung.instance_types[0], ladder.region,
                              rung.min_nodes, n, rung.purchase, Hourly(node.best * mean, node.expected * mean, node.worst * n),
                              unit_hourly=node))
    return items


def _reservation_items(spec: StackSpec) -> list[CostItem]:
    """Reserved capacity nobody's rung consumes is still billed (reservations bill whether used or not)."""
    used: dict[str, int] = {}
    for _, pool in spec.pools():
        if pool.capacity.reservation:
            used[pool.capacity.reservation] = used.get(pool.capacity.reservation, 0) + pool.capacity.reserved
    rows = []
    if spec.aws:
        for r in spec.aws.reservations:
            rows.append(("aws", r.name, "aws:ec2/capacityReservation:CapacityReservation", r.instance_type,
                         r.region or spec.aws.region, r.count, "reserved"))
        if spec.aws.allow_capacity_block_purchase:
            for b in spec.aws.capacity_blocks:
                rows.append(("aws", b.name, "aws:ec2/capacityBlockReservation:CapacityBlockReservation",
                             b.instance_type, b.region or spec.aws.region, b.count, "capacity-block"))
    if spec.gcp:
        for g in spec.gcp.reservations:
            rows.append(("gcp", g.name, "gcp:compute/reservation:Reservation", g.machine_type,
                         g.zone.rsplit("-", 1)[0], g.count, "reserved"))
    items = []
    for cloud, name, typ, itype, region, count, purchase in rows:
        idle = max(0, count - used.get(name, 0))
        rate = reservation_rate(cloud, itype, region, purchase)
        items.append(CostItem(name, typ, itype, region, idle, idle, purchase, Hourly.flat(idle * rate)))
    return items


@dataclass(frozen=True)
class CostPlan:
    """Every cost item of a stack with totals."""

    items: tuple[CostItem, ...]
    catalog_as_of: str
    per_mtok: tuple[UnitCost, ...] = ()
    """$ per million tokens of each model with traffic, at its planned traffic (expected cost)."""
    commitments: tuple[CommitmentLine, ...] = ()

    @property
    def hourly(self) -> Hourly:
        """Total USD per hour."""
        total = Hourly.flat(0.0)
        for item in self.items:
            total = total + item.hourly
        return total

    @property
    def monthly(self) -> Hourly:
        """Total USD per 730-hour month."""
        return self.hourly.monthly()

    def to_json(self) -> dict:
        """The ``cost`` section of the plan JSON (amounts rounded to cents of a cent)."""
        def r(h: Hourly) -> dict:
            return {k: round(v, 4) for k, v in asdict(h).items()}
        return {
            "hourly": r(self.hourly), "monthly": {k: round(v, 2) for k, v in asdict(self.monthly).items()},
            "catalog_as_of": self.catalog_as_of,
            "items": [{**{k: v for k, v in asdict(i).items() if k not in ("hourly", "unit_hourly")}, "hourly": r(i.hourly)}
                      for i in self.items],
            "usd_per_mtok": [u.to_json() for u in self.per_mtok],
            "commitments": [c.to_json() for c in self.commitments],
        }


def estimate_cost(basis: PlanBasis) -> CostPlan:
    """Price every capacity-bearing resource of the stack from the catalog (the ladders and sizing of ``basis``)."""
    items: list[CostItem] = []
    pool_monthly: dict[str, float] = {}
    for ladder in basis.ladders.values():
        rungs = _rung_items(basis, ladder)
        pool_monthly[ladder.pool] = sum(i.hourly.expected for i in rungs) * HOURS_PER_MONTH
        items.extend(rungs)
    items.extend(_reservation_items(basis.spec))
    items.extend(platform_items(basis.spec))
    items.extend(storage_items(basis))
    items.extend(network_items(basis))
    return CostPlan(items=tuple(items), catalog_as_of=load_catalog().as_of.isoformat(),
                    per_mtok=unit_costs(basis, pool_monthly), commitments=plan_commitments(basis))
