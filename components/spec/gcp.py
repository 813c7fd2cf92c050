"""The ``gcp`` section: project, regions, network, GKE or VM mode, GPU pools, reservations."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, IPvAnyNetwork

from components.spec import values as v
from components.spec.base import Name, Spec
from components.spec.capacity import GpuPoolSpec
from components.spec.storage import WeightsBucketSpec


class GcpNetworkSpec(Spec):
    """VPC with one subnet per region, secondary ranges for GKE pods/services, Cloud NAT."""

    subnet_cidr: IPvAnyNetwork = IPvAnyNetwork("10.10.0.0/20")  # type: ignore[operator]
    """Primary range of each region's subnet: private IPv4, /8 to /29."""
    pods_cidr: IPvAnyNetwork = IPvAnyNetwork("10.16.0.0/14")  # type: ignore[operator]
    """Secondary range for GKE pods: private IPv4, /9 to /21, apart from the other ranges."""
    services_cidr: IPvAnyNetwork = IPvAnyNetwork("10.20.0.0/20")  # type: ignore[operator]
    """Secondary range for GKE services: private IPv4, /16 to /27, apart from the other ranges."""
    master_cidr: IPvAnyNetwork = IPvAnyNetwork("172.16.0.0/28")  # type: ignore[operator]
    """Exactly a /28 (private IPv4) for the GKE control plane's private endpoint, apart from the other ranges."""


class GkeSpec(Spec):
    """GKE cluster settings (one regional cluster per region that has GPU pools)."""

    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    """GKE release channel (control plane and node versions follow it). It must offer the pinned minor
    (versions.yaml `gcp.gke_kubernetes`; 1.35 is on all three): the plan checks it against the dated channel table
    `gcp.gke_channels` (GKE release notes) and exits 2 otherwise."""
    system_machine_type: Annotated[str, AfterValidator(v.machine_type)] = "e2-standard-4"
    """Machine type of the system node pool."""
    system_nodes: int = Field(default=1, ge=1, le=10)
    """System nodes per zone."""
    enable_managed_prometheus: bool = False
    """Enable Google Cloud Managed Service for Prometheus on the cluster."""
    enable_managed_dcgm: bool = False
    """Use GKE's managed DCGM metrics (needs managed Prometheus) instead of a self-managed exporter."""
    master_authorized_cidrs: list[Annotated[IPvAnyNetwork, AfterValidator(v.ipv4_cidr)]] = Field(
        default_factory=list, max_length=50)
    """CIDRs allowed to reach the control plane endpoint."""


class GcpReservationSpec(Spec):
    """A specific reservation (``specific_reservation_required``) whose shape must match its consumers."""

    name: Name
    """Reservation name, referenced by pools in ``capacity.reservation``."""
    zone: str
    """Zone of the reservation (a zone of the GCP primary region or of a pool's region)."""
    machine_type: Annotated[str, AfterValidator(v.machine_type)]
    """Machine type reserved (must be the consuming pool's first type)."""
    count: Annotated[int, Field(ge=1, le=1000)]
    """VMs reserved (1-1000)."""
    local_ssd_count: Annotated[int, Field(ge=0, le=32)] | None = None
    """Local SSDs per VM; default: the machine's bundled count (A3/A2-Ultra), else the pool's planned count."""


class GcpVmSpec(Spec):
    """VM-mode serving fleet behind an internal passthrough load balancer."""

    monitoring_cidrs: list[Annotated[IPvAnyNetwork, AfterValidator(v.ipv4_cidr)]] = Field(
        default_factory=list, max_length=40)
    """Extra CIDRs allowed to scrape metrics ports of the VM fleet."""


class GcpSpec(Spec):
    """Everything gpuinfra creates on GCP."""

    project: Annotated[str, AfterValidator(v.gcp_project)] | None = None
    """Project id; default: the provider's ``gcp:project``."""
    region: Annotated[str, AfterValidator(v.gcp_region)] | None = None
    """Primary region; default: the provider's ``gcp:region``."""
    mode: Literal["gke", "vm"] = "gke"
    """Serving mode: ``gke`` (GKE node pools) or ``vm`` (managed instance groups + internal load balancer)."""
    network: GcpNetworkSpec = GcpNetworkSpec()
    """VPC settings."""
    gke: GkeSpec = GkeSpec()
    """GKE settings (mode gke)."""
    vm: GcpVmSpec = GcpVmSpec()
    """VM fleet settings (mode vm)."""
    gpu_pools: list[GpuPoolSpec] = Field(min_length=1, max_length=32)
    """GPU pools on GCP (at least one)."""
    reservations: list[GcpReservationSpec] = Field(default_factory=list, max_length=32)
    """Specific reservations."""
    weights_bucket: WeightsBucketSpec = WeightsBucketSpec()
    """The GCS model-weights bucket."""
