"""Capacity Block offering search for the blocks a stack declares (aws.capacity_blocks[]) or flags describe."""
from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from components.ops import capacity_aws
from components.ops.capacity_aws import CapacityBlockOffer

#: The stack keys the chosen offering fills in (exact names; the schema documents them).
OFFERING_KEY = "aws.capacity_blocks[].offering_id"
ZONE_KEY = "aws.capacity_blocks[].availability_zone"


@dataclass(frozen=True)
class BlockRequest:
    """What to search for: one aws.capacity_blocks[] entry (index set) or the flags (index None)."""

    name: str
    index: int | None
    region: str
    instance_type: str
    count: int
    duration_hours: int
    start_after: datetime.date | None = None
    end_before: datetime.date | None = None
    zone: str | None = None
    offering_id: str | None = None

    @property
    def settled(self) -> bool:
        """The stack already names its offering: not searched again (once bought it has left the market)."""
        return self.offering_id is not None


@dataclass(frozen=True)
class BlockSearch:
    """The offerings found for one request (cheapest fee first, only in ``request.zone`` when set) and the
    chosen one (None when none, or when the stack already names its offering)."""

    request: BlockRequest
    offers: list[CapacityBlockOffer]

    @property
    def chosen(self) -> CapacityBlockOffer | None:
        """Cheapest upfront fee; ties go to the earliest start, then the zone name."""
        return min(self.offers, key=lambda o: (o.upfront_fee, o.start, o.zone), default=None)


def requests_from_spec(spec: Any) -> list[BlockRequest]:
    """One request per aws.capacity_blocks[] entry of a StackSpec (region defaults to aws.region)."""
    aws = spec.aws
    if aws is None:
        return []
    return [BlockRequest(b.name, i, b.region or aws.region, b.instance_type, b.count, b.duration_hours,
                         b.start_after, b.end_before, b.availability_zone, b.offering_id)
            for i, b in enumerate(aws.capacity_blocks)]


def search(requests: list[BlockRequest], factory: Callable[[str, str], Any],
           page_size: int | None = None) -> list[BlockSearch]:
    """Runs DescribeCapacityBlockOfferings (every page) for each request in its region, except settled ones."""
    def offers(r: BlockRequest) -> list[CapacityBlockOffer]:
        if r.settled:
            return []
        found = capacity_aws.capacity_blocks(factory("ec2", r.region), r.instance_type, r.count, r.duration_hours,
                                             page_size, r.start_after, r.end_before)
        return [o for o in found if r.zone is None or o.zone == r.zone]
    return [BlockSearch(r, offers(r)) for r in requests]


def unmatched(found: list[BlockSearch]) -> list[str]:
    """Names of the searched requests that found no offering (settled ones are not searched)."""
    return [s.request.name for s in found if s.chosen is None and not s.request.settled]


def render(found: list[BlockSearch], stack: str | None) -> str:
    """Every offering per request, then the two stack keys to set for the chosen one, with fee and window."""
    lines = []
    for s in found:
        r = s.request
        where = f"aws.capacity_blocks[{r.index}] {r.name}" if r.index is not None else r.name
        window = f"{r.start_after or 'now'} .. {r.end_before or 'any end'}"
        if r.settled:
            lines += [f"{where}: offering {r.offering_id} in {r.zone} is set in the stack; not searched again (the "
                      "stack buys exactly it, and a bought offering leaves the market)",
                      "  to choose another before buying, remove offering_id and availability_zone and search again"]
            continue
        lines.append(f"{where}: {r.instance_type} x{r.count} for {r.duration_hours} h in {r.region}, window "
                     f"{window}: {len(s.offers)} offering(s)")
        for o in s.offers:
            mark = "*" if o is s.chosen else " "
            lines.append(f" {mark} {o.offering_id}  {o.zone}  {o.start} -> {o.end}  "
                         f"{o.upfront_fee:,.2f} {o.currency} upfront")
        chosen = s.chosen
        if chosen is None:
            lines.append("  no offering: widen the date window, or change count/duration/region")
            continue
        target = f"stacks/Pulumi.{stack}.yaml, entry {r.index} ({r.name})" if stack else "the stack's entry"
        lines += [f"  set in {target}:",
                  f"    {OFFERING_KEY}: {chosen.offering_id}",
                  f"    {ZONE_KEY}: {chosen.zone}",
                  f"  fee {chosen.upfront_fee:,.2f} {chosen.currency} upfront (prepaid, not cancellable); "
                  f"window {chosen.start} -> {chosen.end}"]
    return "\n".join(lines)


def to_json(found: list[BlockSearch]) -> list[dict]:
    """Plain data for --json."""
    def offer(o: CapacityBlockOffer) -> dict:
        return {"offering_id": o.offering_id, "availability_zone": o.zone, "start": o.start, "end": o.end,
                "upfront_fee": o.upfront_fee, "currency": o.currency, "count": o.count,
                "duration_hours": o.duration_hours}
    return [{"name": s.request.name, "index": s.request.index, "region": s.request.region,
             "configured_offering_id": s.request.offering_id,
             "instance_type": s.request.instance_type, "offers": [offer(o) for o in s.offers],
             "chosen": offer(s.chosen) if s.chosen else None} for s in found]
