"""One capacity ladder per GPU pool: ordered rungs that the four cloud renderings translate."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from components.spec import StackSpec
from components.spec.capacity import GpuPoolSpec
from components.catalog.vocab import AWS, Cloud

#: One spelling per concept (issue 16 item 5): a rung's tier is what users see (resource names ``<pool>-<tier>``,
#: node labels, the ``CapacityTier`` tag) and what EC2 calls the market (``capacity-block``), so values are hyphenated;
#: a purchase is the tier without the fallback (which buys on-demand). Config keys and catalog price fields stay
#: snake_case (``capacity.on_demand``, ``prices.*.capacity_block``): they are identifiers, mapped in plan/pricing.py.
Tier = Literal["reserved", "capacity-block", "on-demand", "spot", "on-demand-fallback"]
Purchase = Literal["reserved", "capacity-block", "on-demand", "spot"]

#: Autoscaler priority per tier (higher is tried first): reservations, then the on-demand floor,
#: then spot, and on-demand only as the burst's fallback.
PRIORITY: dict[Tier, int] = {
    "reserved": 50, "capacity-block": 50, "on-demand": 40, "spot": 30, "on-demand-fallback": 10,
}


@dataclass(frozen=True)
class Rung:
    """One way of buying a pool's nodes, with its node bounds."""

    tier: Tier
    purchase: Purchase
    min_nodes: int
    max_nodes: int
    instance_types: tuple[str, ...]
    reservation: str | None = None

    @property
    def priority(self) -> int:
        """Autoscaler priority: higher rungs are filled first."""
        return PRIORITY[self.tier]

    @property
    def autoscaled(self) -> bool:
        """True when the rung scales between bounds (the burst), False for a fixed floor."""
        return self.min_nodes != self.max_nodes


@dataclass(frozen=True)
class LadderPlan:
    """The ordered rungs of one pool (reserved first, on-demand fallback last)."""

    cloud: Cloud
    pool: str
    region: str
    rungs: tuple[Rung, ...]

    @property
    def floor(self) -> int:
        """Nodes that always run."""
        return sum(r.min_nodes for r in self.rungs)

    @property
    def max_nodes(self) -> int:
        """Nodes that can exist at maximum scale (the fallback shares the spot burst's maximum)."""
        return sum(r.max_nodes for r in self.rungs if r.tier != "on-demand-fallback")

    def rung(self, tier: Tier) -> Rung | None:
        """The rung of ``tier``, if the ladder has one."""
        return next((r for r in self.rungs if r.tier == tier), None)


def _reserved_tier(spec: StackSpec, cloud: Cloud, name: str) -> Tier:
    if cloud == AWS and spec.aws and any(b.name == name for b in spec.aws.capacity_blocks):
        return "capacity-block"
    return "reserved"


def plan_ladder(spec: StackSpec, cloud: Cloud, pool: GpuPoolSpec) -> LadderPlan:
    """Render a pool's capacity ladder into ordered rungs.

    Reserved and on-demand floors use the pool's first instance type (a reservation matches one type);
    the spot burst and its on-demand fallback diversify over every type of the pool.
    A capacity block the stack has not opted into buying yields no rung (nothing would back it).
    """
    cap = pool.capacity
    primary, every = (pool.instance_types[0],), tuple(pool.instance_types)
    rungs: list[Rung] = []
    if cap.reserved:
        tier = _reserved_tier(spec, cloud, cap.reservation or "")
        bought = tier == "reserved" or (spec.aws is not None and spec.aws.allow_capacity_block_purchase)
        if bought:
            rungs.append(Rung(tier, tier, cap.reserved, cap.reserved, primary, cap.reservation))
    if cap.on_demand:
        rungs.append(Rung("on-demand", "on-demand", cap.on_demand, cap.on_demand, primary))
    if cap.spot:
        rungs.append(Rung("spot", "spot", 0, cap.spot, every))
        if cap.fallback_to_on_demand:
            rungs.append(Rung("on-demand-fallback", "on-demand", 0, cap.spot, every))
    return LadderPlan(cloud=cloud, pool=pool.name, region=spec.pool_region(cloud, pool), rungs=tuple(rungs))


def plan_ladders(spec: StackSpec) -> list[LadderPlan]:
    """Every pool's ladder, AWS first, in configuration order."""
    return [plan_ladder(spec, cloud, pool) for cloud, pool in spec.pools()]
