"""GPU pools and their capacity ladder (reserved -> on-demand base -> spot burst), cloud-neutral."""
from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from components.catalog.commitments import Commitment
from components.spec import values as v
from components.spec.base import Name, NodeCount, Spec


class CapacityLadderSpec(Spec):
    """How a pool's nodes are bought, cheapest-commitment first.

    Nodes are counted per pool (not per GPU). The floor (``reserved`` + ``on_demand``) always runs;
    the spot burst scales between 0 and ``spot`` nodes.
    """

    reserved: NodeCount = 0
    """Nodes on the reservation or capacity block named by ``reservation``; billed whether used or not."""
    reservation: Name | None = None
    """Name of an entry of the same cloud's ``reservations`` (or AWS ``capacity_blocks``) backing ``reserved``."""
    on_demand: NodeCount = 0
    """On-demand base: always-on nodes bought at the on-demand rate."""
    spot: NodeCount = 0
    """Maximum spot nodes above the floor (0 = no spot burst)."""
    fallback_to_on_demand: bool = False
    """When spot capacity is unavailable, let the burst run on on-demand nodes (a last, lowest-priority rung)."""
    commitment: Commitment = "none"
    """How the floor (reserved + on_demand nodes) is paid for: ``none`` (on-demand rate), AWS ``savings_plan_1y|3y``
    (Compute Savings Plan) or ``instance_savings_plan_1y|3y`` (EC2 Instance Savings Plan), no upfront, or GCP
    ``cud_1y|3y`` (resource-based committed-use discount). Priced only: the plan shows the saving against on-demand;
    the 1- or 3-year purchase is irreversible and made outside Pulumi (billing console or CLI)."""

    @model_validator(mode="after")
    def _consistent(self) -> "CapacityLadderSpec":
        if self.reserved and not self.reservation:
            raise ValueError("reserved > 0 needs 'reservation' naming the reservation or capacity block")
        if self.reservation and not self.reserved:
            raise ValueError(f"reservation {self.reservation!r} is named but reserved is 0")
        if self.reserved + self.on_demand + self.spot == 0:
            raise ValueError("the ladder has no capacity: set reserved, on_demand or spot above 0")
        if self.fallback_to_on_demand and not self.spot:
            raise ValueError("fallback_to_on_demand needs a spot burst (spot > 0)")
        if self.reserved + self.on_demand + self.spot > 450:
            raise ValueError(f"the ladder has {self.reserved + self.on_demand + self.spot} nodes; at most 450 "
                             "(the EKS nodes-per-managed-node-group quota)")
        return self

    @property
    def floor(self) -> int:
        """Nodes that always run (reserved + on-demand base)."""
        return self.reserved + self.on_demand

    @property
    def max_nodes(self) -> int:
        """Nodes that can exist at maximum scale."""
        return self.reserved + self.on_demand + self.spot


class GpuPoolSpec(Spec):
    """A pool of identical-GPU nodes serving one or more models."""

    name: Name
    """Stable key of the pool: resource names derive from it (never from list positions)."""
    region: Annotated[str, AfterValidator(v.any_region)] | None = None
    """Region of the pool; default: the cloud section's primary region."""
    zones: list[str] = Field(default_factory=list, max_length=10)
    """Zones (of the pool's region) to spread over; default: every zone of the region (reserved rungs use the
    reservation's zone, which must then be listed)."""
    instance_types: list[Annotated[str, AfterValidator(v.machine_type)]] = Field(min_length=1, max_length=20)
    """Instance (AWS) or machine (GCP) types of one GPU model. The first serves the reserved and on-demand
    rungs; all of them diversify the spot burst. GCP pools take exactly one machine type."""
    capacity: CapacityLadderSpec
    """The capacity ladder."""
    root_volume_gib: int = Field(default=200, ge=30, le=16384)
    """Encrypted root/boot disk in GiB (serving images are multi-GB): 30 to 16384 (the EBS gp3 maximum, 16 TiB;
    docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html)."""
    flex_start: bool = False
    """GCP only: buy the burst with the FLEX_START provisioning model instead of spot."""
    max_run_duration_hours: Annotated[int, Field(ge=1, le=168)] | None = None
    """GCP only, with flex_start: maximum run time of a flex-start node (at most 168 h)."""

    @model_validator(mode="after")
    def _flex(self) -> "GpuPoolSpec":
        if len(set(self.instance_types)) != len(self.instance_types):
            raise ValueError("instance_types lists a type twice")
        if len(set(self.zones)) != len(self.zones):
            raise ValueError("zones lists a zone twice")
        if self.max_run_duration_hours is not None and not self.flex_start:
            raise ValueError("max_run_duration_hours is only used with flex_start: true")
        if self.max_run_duration_hours is not None and self.max_run_duration_hours > 168:
            raise ValueError(f"max_run_duration_hours {self.max_run_duration_hours} exceeds 168 (7 days)")
        return self
