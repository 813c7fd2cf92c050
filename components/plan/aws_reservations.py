"""The AWS reservations slice: ODCRs to create and Capacity Blocks to buy, each with its zone, per region."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from components.plan.tags import cost_tags
from components.spec import StackSpec
from components.spec.errors import ConfigError, key_path

#: The ops command that searches Capacity Block offerings and prints the two keys to set (scripts/capacity.py).
SEARCH_COMMAND = "python scripts/capacity.py --capacity-blocks --stack {stack}"


@dataclass(frozen=True)
class OdcrPlan:
    """One On-Demand Capacity Reservation (``aws.ec2.CapacityReservation``).

    Attributes:
        name: Resource name (the spec entry's, the cost item's).
        region: Its region.
        availability_zone: The configured zone (its consumers' subnet).
        instance_type / count / match: What is reserved, how many, ``targeted`` or ``open``.
        end_date: RFC 3339 end (00:00 UTC), or None for an unlimited reservation.
        tags: Cost tags with the Model it backs and Name.
    """

    name: str
    region: str
    availability_zone: str
    instance_type: str
    count: int
    match: Literal["targeted", "open"]
    end_date: str | None
    tags: Mapping[str, str]


@dataclass(frozen=True)
class CapacityBlockPlan:
    """One Capacity Block for ML: bought only from a configured offering with the explicit opt-in.

    Attributes:
        name: Resource name.
        region: Its region.
        offering_id: The configured offering (``aws.capacity_blocks[].offering_id``), or None before a search.
        availability_zone: The configured zone of that offering, never a lookup result (a later lookup returns
            another offering, or none once bought, and would move subnets).
        buy: True when ``aws.allow_capacity_block_purchase`` is set (then offering and zone are set too).
        next_step: What to do when not bought: the search command, or the opt-in to set.
        tags: Cost tags with the Model it backs and Name.
    """

    name: str
    region: str
    offering_id: str | None
    availability_zone: str | None
    buy: bool
    next_step: str
    tags: Mapping[str, str]


def _rfc3339(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _tags(spec: StackSpec, reservation: str) -> dict[str, str]:
    """Cost tags plus the models served by the pools the reservation backs (the Model tag, joined by '+')."""
    pools = {pool.name for _, pool in spec.pools() if pool.capacity.reservation == reservation}
    models = sorted(m.name for m in spec.models if pools & set(m.pools))
    return {**cost_tags(spec, model="+".join(models) or None, auto_shutdown=spec.environment != "prod"),
            "Name": reservation}


def search_command(spec: StackSpec) -> str:
    """The command line that searches this stack's Capacity Block offerings (stack files are named by environment)."""
    return SEARCH_COMMAND.format(stack=spec.environment)


def _next_step(spec: StackSpec, offering_id: str | None) -> str:
    if offering_id is None:
        return (f"run `{search_command(spec)}`, set the printed offering_id and availability_zone, then "
                "gpuinfra:aws.allow_capacity_block_purchase: true")
    return "set gpuinfra:aws.allow_capacity_block_purchase: true to buy it (prepaid, cannot be cancelled)"


def check_capacity_blocks(spec: StackSpec) -> None:
    """The purchase opt-in needs every block to name its offering and zone: nothing is looked up at deploy time.

    Raises:
        ConfigError: naming ``aws.capacity_blocks[i].offering_id`` (or ``.availability_zone``) and the command.
    """
    aws = spec.aws
    if aws is None or not aws.allow_capacity_block_purchase:
        return
    for i, block in enumerate(aws.capacity_blocks):
        for key in ("offering_id", "availability_zone"):
            if getattr(block, key) is None:
                raise ConfigError(key_path(("aws", "capacity_blocks", i, key)),
                                  f"is unset for {block.name!r}, and aws.allow_capacity_block_purchase buys only a "
                                  f"chosen offering; run `{search_command(spec)}` and set the offering_id and "
                                  "availability_zone it prints (or turn the opt-in off)")


def plan_reservations(spec: StackSpec) -> tuple[tuple[OdcrPlan, ...], tuple[CapacityBlockPlan, ...]]:
    """Every ODCR and Capacity Block of the stack, in configuration order (``check_capacity_blocks`` ran)."""
    aws = spec.aws
    if aws is None:
        return (), ()
    assert aws.region is not None, "load_stack_spec fills the primary region"
    odcrs = tuple(OdcrPlan(
        name=r.name, region=r.region or aws.region, availability_zone=r.availability_zone,
        instance_type=r.instance_type, count=r.count, match=r.match,
        end_date=_rfc3339(r.end_date) if r.end_date else None, tags=_tags(spec, r.name)) for r in aws.reservations)
    blocks = tuple(CapacityBlockPlan(
        name=b.name, region=b.region or aws.region, offering_id=b.offering_id, availability_zone=b.availability_zone,
        buy=aws.allow_capacity_block_purchase, next_step=_next_step(spec, b.offering_id), tags=_tags(spec, b.name))
        for b in aws.capacity_blocks)
    return odcrs, blocks
