"""The GCP slice of the plan: per region the network, GKE cluster or VM fleet, pools with their ladders, reservations."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from components.plan.basis import PlanBasis
from components.plan.compute_class import ComputeClassPlan, plan_compute_classes
from components.plan.gke_cluster import GkeMonitoringPlan, MasterWebhookPlan, plan_gke_monitoring, plan_master_webhooks


@dataclass(frozen=True)
class GcpPlan:
    """What ``components.gcp.deploy`` renders.

    Attributes:
        project: The GCP project.
        primary_region: Region of the weights bucket (``gcp.region``).
        regions: Regions holding GCP GPU pools, in first-use order.
        private_endpoint: GKE control planes keep only their private endpoint (the deployer runs in-network);
            global access is then on so one runner reaches every region's cluster.
        gke_monitoring: What each GKE cluster's ``monitoring_config`` turns on (None in VM mode).
        gke_webhooks: Ports the private control plane must reach on the nodes (None in VM mode).
        compute_classes: Pool name -> its ladder as a GKE custom ComputeClass (empty in VM mode).
    """

    project: str
    primary_region: str
    regions: tuple[str, ...]
    private_endpoint: bool = False
    gke_monitoring: GkeMonitoringPlan | None = None
    gke_webhooks: MasterWebhookPlan | None = None
    compute_classes: Mapping[str, ComputeClassPlan] = field(default_factory=dict)


def plan_gcp(basis: PlanBasis) -> GcpPlan:
    """Plan the ``gcp`` section."""
    spec = basis.spec
    assert spec.gcp is not None and spec.gcp.project and spec.gcp.region, "load_stack_spec fills project/region"
    gke = spec.gcp.mode == "gke"
    return GcpPlan(project=spec.gcp.project, primary_region=spec.gcp.region, regions=tuple(spec.pool_regions("gcp")),
                   private_endpoint=spec.deployer.runner == "in-network",
                   gke_monitoring=plan_gke_monitoring(spec) if gke else None,
                   gke_webhooks=plan_master_webhooks(spec) if gke else None,
                   compute_classes={c.pool: c for c in plan_compute_classes(basis)})
