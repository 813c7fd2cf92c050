"""Wires the ``gcp`` section of the spec into components: network, reservations, bucket, GKE or VM mode."""
from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.catalog import load_catalog
from components.gcp.cluster import GkeCluster, GkeClusterArgs
from components.gcp.compute_class import GkeComputeClass, GkeComputeClassArgs
from components.gcp.gpu_node_pool import GkeGpuNodePool, GkeGpuNodePoolArgs
from components.gcp.keda_identity import GkeKedaIdentity, GkeKedaIdentityArgs
from components.gcp.network import GcpNetwork, GcpNetworkArgs
from components.gcp.reservation import GpuReservation, GpuReservationArgs
from components.gcp.vm_fleet import VmServingFleet, VmServingFleetArgs
from components.gcp.weights_access import GkeWeightsAccess, GkeWeightsAccessArgs
from components.gcp.weights_bucket import GcsWeightsBucket, GcsWeightsBucketArgs
from components.k8s.target import ClusterTarget
from components.plan import names
from components.plan.gcp_shapes import node_shape, reservation_shape, rung_zones
from components.plan.gcp_zones import floor_zones
from components.plan.stack import StackPlan
from components.plan.tags import cost_labels
from components.spec import StackSpec
from components.spec.capacity import GpuPoolSpec




def _providers(spec: StackSpec, project: str, regions: list[str]) -> dict[str, gcp.Provider]:
    """One explicit provider per region; default labels put the cost labels on every labelable resource."""
    return {r: gcp.Provider(f"gcp-{r}", project=project, region=r, default_labels=cost_labels(spec)) for r in regions}


def _zones(provider: gcp.Provider, region: str) -> list[str]:
    return sorted(gcp.compute.get_zones(region=region, status="UP", opts=pulumi.InvokeOptions(provider=provider)).names)


def _reservations(stack: StackPlan, providers: dict[str, gcp.Provider]) -> dict[str, GpuReservation]:
    spec, out = stack.basis.spec, {}
    for res in spec.gcp.reservations:
        region = res.zone.rsplit("-", 1)[0]
        out[res.name] = GpuReservation(res.name, GpuReservationArgs(spec=res, shape=reservation_shape(stack.basis, res),
                                                                    provider=providers[region]))
    return out


def bucket_name(spec: StackSpec, project: str) -> str:
    """The weights bucket's name: ``gcp.weights_bucket.name``, else ``names.bucket_name(env, project)``."""
    return spec.gcp.weights_bucket.name or names.bucket_name(spec.environment, project)


def _bucket(spec: StackSpec, project: str, provider: gcp.Provider) -> GcsWeightsBucket:
    pools = {p.name for p in spec.gcp.gpu_pools}
    models = tuple(m for m in spec.models if pools & set(m.pools))
    return GcsWeightsBucket("weights", GcsWeightsBucketArgs(
        environment=spec.environment, bucket=bucket_name(spec, project), project=project, location=spec.gcp.region or "",
        spec=spec.gcp.weights_bucket, models=models, provider=provider, labels=cost_labels(spec)))


def _gke_region(stack: StackPlan, project: str, region: str, provider: gcp.Provider, network: GcpNetwork,
                bucket: GcsWeightsBucket, reservations: dict[str, GpuReservation]) -> ClusterTarget:
    """One regional cluster with a node pool per rung of each pool of the region, and weights access."""
    spec, plan = stack.basis.spec, stack.gcp.gke_regions[region]
    name = plan.cluster.name
    zones = _zones(provider, region)
    cluster = GkeCluster(name, GkeClusterArgs(
        plan=plan.cluster, project=project, network_id=network.network_id, subnet_id=network.subnet_id,
        pods_range=network.pods_range, services_range=network.services_range, zones=zones, provider=provider,
        labels=cost_labels(spec), private_endpoint=stack.gcp.private_endpoint, monitoring=stack.gcp.gke_monitoring,
        webhooks=stack.gcp.gke_webhooks))
    pools = [p for p in spec.gcp.gpu_pools if spec.pool_region("gcp", p) == region]
    node_pools = [_gke_pool(stack, pool, region, zones, cluster, provider, reservations) for pool in pools]
    classes = [GkeComputeClass(pool.name, GkeComputeClassArgs(
        plan=stack.gcp.compute_classes[pool.name], node_pools=group.node_pools, provider=cluster.provider))
        for pool, group in zip(pools, node_pools)]
    served = {m.name for m in spec.models if {p.name for p in pools} & set(m.pools)}
    access = GkeWeightsAccess(f"{name}-weights", GkeWeightsAccessArgs(
        project=project, namespace=spec.serving.namespace, cluster=cluster.cluster, provider=provider,
        readers={m: acct for m, acct in bucket.readers.items() if m in served}))
    planned = stack.cluster(name)
    keda = GkeKedaIdentity(f"{name}-keda", GkeKedaIdentityArgs(
        project=project, environment=spec.environment, region=region, roles=planned.keda_gcp_roles,
        cluster=cluster.cluster, provider=provider)) if planned and planned.keda_gcp_roles else None
    ready = (tuple(np for group in node_pools for np in group.node_pools.values()) + tuple(access.bindings)
             + tuple(keda.bindings if keda else ()) + tuple(c.compute_class for c in classes))
    return ClusterTarget(name=name, cloud="gcp", region=region, provider=cluster.provider, cluster=cluster.cluster,
                         pools=tuple(p.name for p in pools), weights_bucket=bucket.bucket_name, ready=ready,
                         reader_annotations=access.annotations, keda_gcp_service_account=keda.email if keda else None)


def _gke_pool(stack: StackPlan, pool: GpuPoolSpec, region: str, zones: list[str], cluster: GkeCluster,
              provider: gcp.Provider, reservations: dict[str, GpuReservation]) -> GkeGpuNodePool:
    spec, ladder = stack.basis.spec, stack.ladders[pool.name]
    gpu = load_catalog().instance("gcp", pool.instance_types[0]).gpu.name
    return GkeGpuNodePool(pool.name, GkeGpuNodePoolArgs(
        pool=pool, ladder=ladder, shape=node_shape(stack.basis, pool), gpu=gpu, cluster_id=cluster.cluster.id,
        region=region, zones={r.tier: floor_zones(rung_zones(stack.basis, pool, r, region, zones), r.min_nodes)
               for r in ladder.rungs},
        service_account_email=cluster.node_service_account_email, provider=provider, labels=cost_labels(spec),
        depends_on=[reservations[r] for r in {pool.capacity.reservation} if r in reservations],
        compute_class=stack.gcp.compute_classes.get(pool.name)),
        opts=pulumi.ResourceOptions(depends_on=[cluster.system_pool]))


def deploy_gcp(stack: StackPlan) -> list[ClusterTarget]:
    """Create the GCP resources of the stack; returns the GKE clusters for the serving layer (none in VM mode)."""
    spec = stack.basis.spec
    assert spec.gcp is not None and stack.gcp is not None
    project, regions, primary = stack.gcp.project, list(stack.gcp.regions), stack.gcp.primary_region
    providers = _providers(spec, project, list(dict.fromkeys([primary, *regions])))
    reservations = _reservations(stack, providers)
    bucket = _bucket(spec, project, providers[primary])
    targets = []
    for region in regions:
        network = GcpNetwork(f"vpc-{region}", GcpNetworkArgs(region=region, spec=spec.gcp.network,
                                                              provider=providers[region]))
        if spec.gcp.mode == "gke":
            targets.append(_gke_region(stack, project, region, providers[region], network, bucket, reservations))
        else:
            VmServingFleet(f"serving-{region}", VmServingFleetArgs(
                fleet=stack.gcp.vm_fleets[region], project=project, bucket=stack.gcp.bucket.name,
                network_id=network.network_id, subnet_self_link=network.subnet_self_link,
                provider=providers[region], image=stack.gcp.vm_image, reservations=reservations),
                opts=pulumi.ResourceOptions(depends_on=[bucket]))
    return targets
