"""Wires the plan's ``gcp`` slice into components: network, reservations, bucket, GKE or VM mode."""
from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_gcp as gcp

from components.gcp.cluster import GkeCluster, GkeClusterArgs
from components.gcp.compute_class import GkeComputeClass, GkeComputeClassArgs
from components.gcp.gpu_node_pool import GkeGpuNodePool, GkeGpuNodePoolArgs
from components.gcp.keda_identity import GkeKedaIdentity, GkeKedaIdentityArgs
from components.gcp.network import GcpNetwork, GcpNetworkArgs
from components.gcp.reservation import GcpReservation, GcpReservationArgs
from components.gcp.vm_fleet import VmServingFleet, VmServingFleetArgs
from components.gcp.weights_access import GkeWeightsAccess, GkeWeightsAccessArgs
from components.gcp.weights_bucket import GcsWeightsBucket, GcsWeightsBucketArgs
from components.k8s.target import ClusterTarget
from components.plan.gcp_plan import GcpPlan
from components.plan.gcs_bucket import GcsBucketPlan
from components.plan.gke_region import GkePoolPlan
from components.plan.stack import StackPlan


def _providers(labels: Mapping[str, str], project: str, regions: list[str]) -> dict[str, gcp.Provider]:
    """One explicit provider per region; default labels put the cost labels on every labelable resource."""
    return {r: gcp.Provider(f"gcp-{r}", project=project, region=r, default_labels=dict(labels)) for r in regions}


def _zones(provider: gcp.Provider, region: str) -> list[str]:
    return sorted(gcp.compute.get_zones(region=region, status="UP", opts=pulumi.InvokeOptions(provider=provider)).names)


def _reservations(plan: GcpPlan, providers: dict[str, gcp.Provider]) -> dict[str, GcpReservation]:
    return {r.name: GcpReservation(r.name, GcpReservationArgs(plan=r, provider=providers[r.region]))
            for r in plan.reservations}


def _bucket(plan: GcsBucketPlan, project: str, provider: gcp.Provider) -> GcsWeightsBucket:
    return GcsWeightsBucket("weights", GcsWeightsBucketArgs(plan=plan, project=project, provider=provider))


def _gke_region(stack: StackPlan, project: str, region: str, provider: gcp.Provider, network: GcpNetwork,
                bucket: GcsWeightsBucket, reservations: dict[str, GcpReservation]) -> ClusterTarget:
    """One regional cluster with a node pool per rung of each pool of the region, and weights access."""
    plan = stack.gcp.gke_regions[region]
    name = plan.cluster.name
    zones = _zones(provider, region)
    cluster = GkeCluster(name, GkeClusterArgs(
        plan=plan.cluster, project=project, network_id=network.network_id, subnet_id=network.subnet_id,
        pods_range=network.pods_range, services_range=network.services_range, zones=zones, provider=provider,
        labels=dict(stack.labels), private_endpoint=stack.gcp.private_endpoint, monitoring=stack.gcp.gke_monitoring,
        webhooks=stack.gcp.gke_webhooks))
    node_pools = [_gke_pool(stack, pool, region, zones, cluster, provider, reservations) for pool in plan.pools]
    classes = [GkeComputeClass(pool.pool.name, GkeComputeClassArgs(
        plan=stack.gcp.compute_classes[pool.pool.name], node_pools=group.node_pools, provider=cluster.provider))
        for pool, group in zip(plan.pools, node_pools)]
    access = GkeWeightsAccess(f"{name}-weights", GkeWeightsAccessArgs(
        project=project, namespace=plan.namespace, cluster=cluster.cluster, provider=provider,
        readers={m: acct for m, acct in bucket.readers.items() if m in plan.served_models}))
    planned = stack.cluster(name)
    keda = GkeKedaIdentity(f"{name}-keda", GkeKedaIdentityArgs(
        project=project, environment=stack.environment, region=region, roles=planned.keda_gcp_roles,
        cluster=cluster.cluster, provider=provider)) if planned and planned.keda_gcp_roles else None
    ready = (tuple(np for group in node_pools for np in group.node_pools.values()) + tuple(access.bindings)
             + tuple(keda.bindings if keda else ()) + tuple(c.compute_class for c in classes))
    return ClusterTarget(name=name, cloud="gcp", region=region, provider=cluster.provider, cluster=cluster.cluster,
                         pools=tuple(p.pool.name for p in plan.pools), weights_bucket=bucket.bucket_name, ready=ready,
                         reader_annotations=access.annotations, keda_gcp_service_account=keda.email if keda else None)


def _gke_pool(stack: StackPlan, plan: GkePoolPlan, region: str, zones: list[str], cluster: GkeCluster,
              provider: gcp.Provider, reservations: dict[str, GcpReservation]) -> GkeGpuNodePool:
    return GkeGpuNodePool(plan.pool.name, GkeGpuNodePoolArgs(
        pool=plan.pool, ladder=plan.ladder, shape=plan.shape, gpu=plan.gpu, cluster_id=cluster.cluster.id,
        region=region, zones={tier: rule.resolve(zones) for tier, rule in plan.zones.items()},
        service_account_email=cluster.node_service_account_email, provider=provider, labels=dict(stack.labels),
        depends_on=[reservations[r] for r in {plan.reservation} if r in reservations],
        compute_class=plan.compute_class),
        opts=pulumi.ResourceOptions(depends_on=[cluster.system_pool]))


def deploy_gcp(stack: StackPlan) -> list[ClusterTarget]:
    """Create the GCP resources of the stack; returns the GKE clusters for the serving layer (none in VM mode)."""
    plan = stack.gcp
    assert plan is not None and plan.bucket is not None and plan.network is not None
    project, regions, primary = plan.project, list(plan.regions), plan.primary_region
    providers = _providers(stack.labels, project, list(dict.fromkeys([primary, *regions])))
    reservations = _reservations(plan, providers)
    bucket = _bucket(plan.bucket, project, providers[primary])
    targets = []
    for region in regions:
        network = GcpNetwork(f"vpc-{region}", GcpNetworkArgs(region=region, plan=plan.network,
                                                              provider=providers[region]))
        if plan.mode == "gke":
            targets.append(_gke_region(stack, project, region, providers[region], network, bucket, reservations))
        else:
            VmServingFleet(f"serving-{region}", VmServingFleetArgs(
                fleet=stack.gcp.vm_fleets[region], project=project, bucket=stack.gcp.bucket.name,
                network_id=network.network_id, subnet_self_link=network.subnet_self_link,
                provider=providers[region], image=stack.gcp.vm_image, reservations=reservations),
                opts=pulumi.ResourceOptions(depends_on=[bucket]))
    return targets
