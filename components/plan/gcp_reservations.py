"""The GCP reservations slice: each specific reservation with its region and the VM shape it reserves."""
from __future__ import annotations

from dataclasses import dataclass

from components.plan.basis import PlanBasis
from components.plan.gcp_shapes import GcpShape, reservation_shape
from components.spec.gcp import GcpReservationSpec


@dataclass(frozen=True)
class GcpReservationPlan:
    """One ``gcp.reservations[]`` entry as ``components.gcp.reservation`` renders it.

    Attributes:
        settings: The entry (name, zone, count).
        region: The region of its zone (its provider).
        shape: What each reserved VM looks like (the consuming pool's node shape, checked at plan time).
    """

    settings: GcpReservationSpec
    region: str
    shape: GcpShape


def plan_gcp_reservations(basis: PlanBasis) -> tuple[GcpReservationPlan, ...]:
    """Plan every GCP reservation, in configuration order."""
    assert basis.spec.gcp is not None
    return tuple(GcpReservationPlan(settings=r, region=r.zone.rsplit("-", 1)[0], shape=reservation_shape(basis, r))
                 for r in basis.spec.gcp.reservations)
