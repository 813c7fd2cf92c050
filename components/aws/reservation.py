"""On-Demand Capacity Reservations and Capacity Blocks for ML of one region (blocks only on explicit opt-in)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.plan.tags import cost_tags
from components.spec import StackSpec
from components.spec.aws import AwsCapacityBlockSpec, AwsReservationSpec


@dataclass(frozen=True)
class AwsReservationsArgs:
    """The stack and the region whose ``aws.reservations`` / ``aws.capacity_blocks`` entries to create."""

    spec: StackSpec
    region: str


def _rfc3339(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _models_on(spec: StackSpec, reservation: str) -> str | None:
    """Models served by the pools a reservation backs (the Model tag), joined by '+'."""
    pools = {pool.name for _, pool in spec.pools() if pool.capacity.reservation == reservation}
    models = sorted(m.name for m in spec.models if pools & set(m.pools))
    return "+".join(models) or None


class AwsReservations(pulumi.ComponentResource):
    """Capacity reservations of one region.

    Resources are named by the reservation's own name (the cost model's item names). A Capacity Block is a
    prepaid purchase that cannot be cancelled (pulumi-aws cannot delete one): its offering is always looked
    up and its upfront fee shown, but it is bought only with ``aws.allow_capacity_block_purchase``.

    Attributes:
        reservation_ids: Reservation name -> reservation id (ODCRs and bought blocks).
        availability_zones: Reservation name -> AZ (plain strings: the spec's, or the block offering's).
        upfront_fees: Capacity Block name -> upfront fee in USD (the offering's, bought or not).
    """

    reservation_ids: dict[str, pulumi.Output[str]]
    availability_zones: dict[str, str]
    upfront_fees: dict[str, str]

    def __init__(self, name: str, args: AwsReservationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpuinfra:aws:AwsReservations", name, None, opts)
        self._args = args
        self.reservation_ids, self.availability_zones, self.upfront_fees = {}, {}, {}
        for reservation in self._in_region(args.spec.aws.reservations if args.spec.aws else []):
            self._create_odcr(reservation)
        for block in self._in_region(args.spec.aws.capacity_blocks if args.spec.aws else []):
            self._capacity_block(block)
        if self.upfront_fees:
            # Stack output so `pulumi preview` and the offline plan show what a purchase would cost.
            pulumi.export(f"capacity_block_upfront_fee_usd_{args.region}", dict(self.upfront_fees))
        self.register_outputs({"reservation_ids": self.reservation_ids, "availability_zones": self.availability_zones,
                               "upfront_fees": self.upfront_fees})

    def _in_region(self, entries: list) -> list:
        spec = self._args.spec
        return [e for e in entries if (e.region or (spec.aws.region if spec.aws else None)) == self._args.region]

    def _tags(self, name: str) -> dict[str, str]:
        spec = self._args.spec
        return {**cost_tags(spec, model=_models_on(spec, name), auto_shutdown=spec.environment != "prod"), "Name": name}

    def _create_odcr(self, r: AwsReservationSpec) -> None:
        end = {"end_date_type": "limited", "end_date": _rfc3339(r.end_date)} if r.end_date else {"end_date_type": "unlimited"}
        odcr = aws.ec2.CapacityReservation(
            r.name,
            availability_zone=r.availability_zone,
            instance_type=r.instance_type,
            instance_count=r.count,
            instance_platform="Linux/UNIX",
            tenancy="default",
            instance_match_criteria=r.match,
            ebs_optimized=True,
            tags=self._tags(r.name),
            **end,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.reservation_ids[r.name] = odcr.id
        self.availability_zones[r.name] = r.availability_zone

    def _capacity_block(self, b: AwsCapacityBlockSpec) -> None:
        offering = aws.ec2.get_capacity_block_offering(
            instance_type=b.instance_type,
            instance_count=b.count,
            capacity_duration_hours=b.duration_hours,
            start_date_range=_rfc3339(b.start_after),
            end_date_range=_rfc3339(b.end_before) if b.end_before else None,
            opts=pulumi.InvokeOptions(parent=self),
        )
        self.upfront_fees[b.name] = offering.upfront_fee
        self.availability_zones[b.name] = offering.availability_zone
        if not self._args.spec.aws.allow_capacity_block_purchase:
            pulumi.log.warn(f"capacity block {b.name}: offering {offering.capacity_block_offering_id} in "
                            f"{offering.availability_zone} costs {offering.upfront_fee} {offering.currency_code} "
                            "upfront; not bought (set aws.allow_capacity_block_purchase: true)", resource=self)
            return
        block = aws.ec2.CapacityBlockReservation(
            b.name,
            capacity_block_offering_id=offering.capacity_block_offering_id,
            instance_platform="Linux/UNIX",
            tags=self._tags(b.name),
            # Irreversible purchase: never delete (impossible anyway) and never replace it because a later
            # lookup returns a different offering id (that would buy a second block).
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True,
                                        ignore_changes=["capacityBlockOfferingId"]),
        )
        self.reservation_ids[b.name] = block.id
