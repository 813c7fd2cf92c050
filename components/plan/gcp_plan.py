"""The GCP slice of the plan: per region the network, GKE cluster or VM fleet, pools with their ladders, reservations."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from components.plan.basis import PlanBasis
from components.plan.gcp_rollout import GcpImagePin, reservation_headroom, vm_image_pin
from components.plan.vm_autoscaling import metrics_group
from components.plan.compute_class import ComputeClassPlan, plan_compute_classes
from components.plan.gke_cluster import GkeMonitoringPlan, MasterWebhookPlan, plan_gke_monitoring, plan_master_webhooks
from components.plan.gcp_reservations import GcpReservationPlan, plan_gcp_reservations
from components.plan.gcp_vm_fleet import VmFleetPlan, plan_vm_fleets
from components.plan.gcs_bucket import GcsBucketPlan, plan_gcs_bucket
from components.plan.gke_region import GkeRegionPlan, plan_gke_regions


@dataclass(frozen=True)
class GcpNetworkPlan:
    """The CIDRs every region's VPC uses (``gcp.network``; regions share no routes, so they repeat)."""

    subnet_cidr: str
    pods_cidr: str
    services_cidr: str


@dataclass(frozen=True)
class GcpPlan:
    """What ``components.gcp.deploy`` renders.

    Attributes:
        project: The GCP project.
        primary_region: Region of the weights bucket (``gcp.region``).
        regions: Regions holding GCP GPU pools, in first-use order.
        private_endpoint: GKE control planes keep only their private endpoint (the deployer runs in-network);
            global access is then on so one runner reaches every region's cluster.
        vm_image: The pinned Deep Learning VM image of VM mode (None in GKE mode).
        reservation_headroom: Reservation name -> VMs beyond its consumers' reserved nodes (surge room).
        metrics_groups: VM mode: pool name -> the label value its VMs' queue series carry (autoscaler filters).
        gke_monitoring: What each GKE cluster's ``monitoring_config`` turns on (None in VM mode).
        gke_webhooks: Ports the private control plane must reach on the nodes (None in VM mode).
        compute_classes: Pool name -> its ladder as a GKE custom ComputeClass (empty in VM mode).
        gke_regions: Region -> its cluster and GPU pools (empty in VM mode).
        vm_fleets: Region -> its VM-mode fleet (empty in GKE mode).
        bucket: The weights bucket.
        mode: ``gke`` or ``vm`` (``gcp.mode``).
        network: The ``gcp.network`` CIDRs every region's VPC uses.
        reservations: Every specific reservation, in configuration order.
    """

    project: str
    primary_region: str
    regions: tuple[str, ...]
    private_endpoint: bool = False
    vm_image: GcpImagePin | None = None
    reservation_headroom: Mapping[str, int] = field(default_factory=dict)
    metrics_groups: Mapping[str, str] = field(default_factory=dict)
    gke_monitoring: GkeMonitoringPlan | None = None
    gke_webhooks: MasterWebhookPlan | None = None
    compute_classes: Mapping[str, ComputeClassPlan] = field(default_factory=dict)
    gke_regions: Mapping[str, GkeRegionPlan] = field(default_factory=dict)
    vm_fleets: Mapping[str, VmFleetPlan] = field(default_factory=dict)
    bucket: GcsBucketPlan | None = None
    mode: Literal["gke", "vm"] = "gke"
    network: GcpNetworkPlan | None = None
    reservations: tuple[GcpReservationPlan, ...] = ()


def plan_gcp(basis: PlanBasis) -> GcpPlan:
    """Plan the ``gcp`` section."""
    spec = basis.spec
    assert spec.gcp is not None and spec.gcp.project and spec.gcp.region, "load_stack_spec fills project/region"
    gke = spec.gcp.mode == "gke"
    regions = tuple(spec.pool_regions("gcp"))
    classes = {c.pool: c for c in plan_compute_classes(basis)}
    bucket, headroom, net = plan_gcs_bucket(spec), reservation_headroom(spec), spec.gcp.network
    groups = {p.name: metrics_group(spec.environment, p.name) for p in spec.gcp.gpu_pools} if not gke else {}
    return GcpPlan(project=spec.gcp.project, primary_region=spec.gcp.region, regions=regions,
                   private_endpoint=spec.deployer.runner == "in-network",
                   vm_image=vm_image_pin() if not gke else None,
                   reservation_headroom=headroom, metrics_groups=groups,
                   gke_monitoring=plan_gke_monitoring(spec) if gke else None,
                   gke_webhooks=plan_master_webhooks(spec) if gke else None,
                   compute_classes=classes,
                   gke_regions=plan_gke_regions(basis, regions, classes) if gke else {},
                   vm_fleets={} if gke else plan_vm_fleets(basis, spec.gcp.project, bucket.name, groups, headroom),
                   bucket=bucket, mode=spec.gcp.mode,
                   network=GcpNetworkPlan(subnet_cidr=str(net.subnet_cidr), pods_cidr=str(net.pods_cidr),
                                          services_cidr=str(net.services_cidr)),
                   reservations=plan_gcp_reservations(basis))
