"""The GCP reservations slice: each specific reservation with its region and the VM shape it reserves."""
from __future__ import annotations

from dataclasses import dataclass

from components.plan.basis import PlanBasis
from components.plan.gcp_shapes import GcpShape, reservation_shape


@dataclass(frozen=True)
class GcpReservationPlan:
    """One ``gcp.reservations[]`` entry as ``components.gcp.reservation`` renders it.

    Attributes:
        name: The entry's name (also the physical name: consumers select it by name).
        zone: Its zone.
        count: VMs it reserves.
        region: The region of its zone (its provider).
        shape: What each reserved VM looks like (the consuming pool's node shape, checked at plan time).
    """

    name: str
    zone: str
    count: int
    region: str
    shape: GcpShape


def plan_gcp_reservations(basis: PlanBasis) -> tuple[GcpReservationPlan, ...]:
    """Plan every GCP reservation, in configuration order."""
    assert basis.spec.gcp is not None
    return tuple(GcpReservationPlan(name=r.name, zone=r.zone, count=r.count, region=r.zone.rsplit("-", 1)[0], shape=reservation_shape(basis, r))
                 for r in basis.spec.gcp.reservations)
