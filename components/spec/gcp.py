"""The ``gcp`` section: project, regions, network, GKE or VM mode, GPU pools, reservations."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, IPvAnyNetwork

from components.spec.base import Name, PositiveInt, Spec
from components.spec.capacity import GpuPoolSpec
from components.spec.storage import WeightsBucketSpec


class GcpNetworkSpec(Spec):
    """VPC with one subnet per region, secondary ranges for GKE pods/services, Cloud NAT."""

    subnet_cidr: IPvAnyNetwork = IPvAnyNetwork("10.10.0.0/20")  # type: ignore[operator]
    pods_cidr: IPvAnyNetwork = IPvAnyNetwork("10.16.0.0/14")  # type: ignore[operator]
    services_cidr: IPvAnyNetwork = IPvAnyNetwork("10.20.0.0/20")  # type: ignore[operator]
    master_cidr: IPvAnyNetwork = IPvAnyNetwork("172.16.0.0/28")  # type: ignore[operator]
    """/28 for the GKE control plane's private endpoint peering."""


class GkeSpec(Spec):
    """GKE cluster settings (one regional cluster per region that has GPU pools)."""

    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    system_machine_type: str = "e2-standard-4"
    system_nodes: int = Field(default=1, ge=1, le=10)
    """System nodes per zone."""
    enable_managed_prometheus: bool = False
    enable_managed_dcgm: bool = False
    """Use GKE's managed DCGM metrics (needs managed Prometheus) instead of a self-managed exporter."""
    master_authorized_cidrs: list[IPvAnyNetwork] = Field(default_factory=list)


class GcpReservationSpec(Spec):
    """A specific reservation (``specific_reservation_required``) whose shape must match its consumers."""

    name: Name
    zone: str
    machine_type: str
    count: PositiveInt
    local_ssd_count: int | None = None
    """Local SSDs per VM; default: the machine's bundled count (A3/A2-Ultra), else the pool's planned count."""


class GcpVmSpec(Spec):
    """VM-mode serving fleet behind an internal passthrough load balancer."""

    monitoring_cidrs: list[IPvAnyNetwork] = Field(default_factory=list)


class GcpSpec(Spec):
    """Everything gpuinfra creates on GCP."""

    project: str | None = None
    """Project id; default: the provider's ``gcp:project``."""
    region: str | None = None
    """Primary region; default: the provider's ``gcp:region``."""
    mode: Literal["gke", "vm"] = "gke"
    network: GcpNetworkSpec = GcpNetworkSpec()
    gke: GkeSpec = GkeSpec()
    vm: GcpVmSpec = GcpVmSpec()
    gpu_pools: list[GpuPoolSpec] = Field(min_length=1)
    reservations: list[GcpReservationSpec] = Field(default_factory=list)
    weights_bucket: WeightsBucketSpec = WeightsBucketSpec()
