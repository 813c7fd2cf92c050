"""GcpReservation: a specific Compute Engine reservation shaped exactly like the nodes that consume it."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.aliases import aliased
from components.plan.gcp_reservations import GcpReservationPlan
from components.plan.storage import GCP_LOCAL_SSD_GB


@dataclass(frozen=True)
class GcpReservationArgs:
    """Inputs of :class:`GcpReservation`.

    Attributes:
        plan: The planned ``gcp.reservations[]`` entry: name, zone, count and what each reserved VM looks like
            (``gcp_shapes.reservation_shape``; checked against the consuming pool's nodes at plan time).
        provider: GCP provider of the reservation's region.
    """

    plan: GcpReservationPlan
    provider: gcp.Provider


class GcpReservation(pulumi.ComponentResource):
    """A ``specific_reservation_required`` reservation: only VMs/nodes naming it consume it, and its
    instance properties (machine type, accelerators, NVMe local SSDs) match theirs exactly; a shape
    mismatch would leave it billed and unused, so spec checks refuse one at plan time."""

    reservation_name: str
    zone: str

    def __init__(self, name: str, args: GcpReservationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create the reservation."""
        super().__init__("gpuinfra:gcp:GcpReservation", name, None, aliased(opts, "gpuinfra:gcp:GpuReservation"))
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        reservation = self._create_reservation(name)
        self.reservation_name, self.zone = args.plan.name, args.plan.zone
        self.reservation_id = reservation.id
        self.register_outputs({"reservation_id": self.reservation_id})

    def _create_reservation(self, name: str) -> gcp.compute.Reservation:
        spec = self._args.plan
        shape = spec.shape
        properties = gcp.compute.ReservationSpecificReservationInstancePropertiesArgs(
            machine_type=shape.machine_type,
            guest_accelerators=[gcp.compute.ReservationSpecificReservationInstancePropertiesGuestAcceleratorArgs(
                accelerator_type=shape.accelerator, accelerator_count=shape.gpu_count)],
            local_ssds=[gcp.compute.ReservationSpecificReservationInstancePropertiesLocalSsdArgs(
                disk_size_gb=GCP_LOCAL_SSD_GB, interface="NVME") for _ in range(shape.local_ssd_count)],
        )
        # Named exactly like the config entry (physical name too): consumers select it by that name, and the
        # cost model prices the resource under it.
        return gcp.compute.Reservation(
            name, name=spec.name, zone=spec.zone, specific_reservation_required=True,
            specific_reservation=gcp.compute.ReservationSpecificReservationArgs(
                count=spec.count, instance_properties=properties),
            description=f"gpuinfra: {spec.count}x {shape.machine_type}", opts=self._child)
