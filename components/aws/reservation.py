"""On-Demand Capacity Reservations and Capacity Blocks for ML of one region (blocks only on explicit opt-in)."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.plan.aws_reservations import CapacityBlockPlan, OdcrPlan


@dataclass(frozen=True)
class AwsReservationsArgs:
    """The planned ODCRs and Capacity Blocks of one region (``AwsPlan.odcrs`` / ``capacity_blocks``)."""

    region: str
    odcrs: tuple[OdcrPlan, ...]
    capacity_blocks: tuple[CapacityBlockPlan, ...]


class AwsReservations(pulumi.ComponentResource):
    """Capacity reservations of one region.

    Resources are named by the reservation's own name (the cost model's item names). A Capacity Block is a
    prepaid purchase that cannot be cancelled: nothing is looked up here (a search's answer changes between runs
    and is empty once bought); the configured offering is bought only with ``aws.allow_capacity_block_purchase``.

    Attributes:
        reservation_ids: Reservation name -> reservation id (ODCRs and bought blocks).
        availability_zones: Reservation name -> AZ (plain strings: the configured ones, never a lookup result).
    """

    reservation_ids: dict[str, pulumi.Output[str]]
    availability_zones: dict[str, str]

    def __init__(self, name: str, args: AwsReservationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpuinfra:aws:AwsReservations", name, None, opts)
        self.reservation_ids, self.availability_zones = {}, {}
        for odcr in args.odcrs:
            self._create_odcr(odcr)
        bought = {b.name: self._buy_block(b) for b in args.capacity_blocks if b.buy}
        for block in args.capacity_blocks:
            if not block.buy:
                pulumi.log.warn(f"capacity block {block.name}: not bought; {block.next_step}", resource=self)
        if bought:
            # The configured zone drives subnets; the bought reservation's own zone is shown beside it.
            pulumi.export(f"aws_{args.region.replace('-', '_')}_capacity_blocks", bought)
        self.register_outputs({"reservation_ids": self.reservation_ids, "availability_zones": self.availability_zones})

    def _create_odcr(self, r: OdcrPlan) -> None:
        end = {"end_date_type": "limited", "end_date": r.end_date} if r.end_date else {"end_date_type": "unlimited"}
        odcr = aws.ec2.CapacityReservation(
            r.name,
            availability_zone=r.availability_zone,
            instance_type=r.instance_type,
            instance_count=r.count,
            instance_platform="Linux/UNIX",
            tenancy="default",
            instance_match_criteria=r.match,
            ebs_optimized=True,
            tags=dict(r.tags),
            **end,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.reservation_ids[r.name] = odcr.id
        self.availability_zones[r.name] = r.availability_zone

    def _buy_block(self, b: CapacityBlockPlan) -> dict[str, pulumi.Input[str]]:
        assert b.offering_id is not None and b.availability_zone is not None, "check_capacity_blocks ran"
        # terraform-provider-aws internal/service/ec2/ec2_capacity_block_reservation.go: capacity_block_offering_id
        # and instance_platform are RequiresReplace and Delete is a no-op (the block stays billed). A replacement
        # would buy a second block, so the resource is protected (the engine refuses to replace it) and retained.
        block = aws.ec2.CapacityBlockReservation(
            b.name,
            capacity_block_offering_id=b.offering_id,
            instance_platform="Linux/UNIX",
            tags=dict(b.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
        )
        self.reservation_ids[b.name] = block.id
        self.availability_zones[b.name] = b.availability_zone
        return {"offering_id": b.offering_id, "configured_zone": b.availability_zone,
                "reservation_zone": block.availability_zone, "reservation_id": block.id}
