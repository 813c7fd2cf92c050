"""The GKE slice of each GCP region: its cluster's settings and, per pool, the node pools of every rung."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.catalog import load_catalog
from components.plan import names
from components.plan.basis import PlanBasis
from components.plan.compute_class import ComputeClassPlan
from components.plan.gcp_shapes import GcpPoolSettings, GcpShape, gcp_version, node_shape, service_account_id, pool_settings, zone_choice
from components.plan.gcp_zones import ZoneChoice
from components.plan.ladder import LadderPlan, Tier
from components.spec.capacity import GpuPoolSpec


@dataclass(frozen=True)
class GkeClusterPlan:
    """What ``components.gcp.cluster`` renders for one region.

    Attributes:
        name: Cluster name (``names.cluster_name``).
        region: Cluster location (regional control plane).
        node_account_id: Account id of the dedicated node service account.
        master_cidr: The control plane's /28 (``gcp.network.master_cidr``).
        master_authorized_cidrs: ``gcp.gke.master_authorized_cidrs`` (empty: no authorized-networks block).
        release_channel / min_master_version: ``gcp.gke.release_channel`` and the pinned minimum version.
        system_nodes / system_machine_type: The system pool's floor (it scales to twice that) and machine.
        deletion_protection: True in prod.
        system_pool_name: Logical name of the system node pool (``names.gke_system_pool``).
    """

    name: str
    region: str
    node_account_id: str
    master_cidr: str
    master_authorized_cidrs: tuple[str, ...]
    release_channel: str
    min_master_version: str
    system_nodes: int
    system_machine_type: str
    deletion_protection: bool
    system_pool_name: str


@dataclass(frozen=True)
class GkePoolPlan:
    """One GPU pool of a GKE cluster (``components.gcp.gpu_node_pool``).

    Attributes:
        pool / ladder / shape: The pool, its rungs and its node shape.
        gpu: GPU name of the pool's primary machine type (the ``gpuinfra.dev/gpu`` label).
        zones: Rung tier -> its zone rule, the floor spread evenly (GKE sizes node pools per zone).
        reservation: The reservation the pool names (its node pools wait for it), or None.
        compute_class: The pool's ladder as a GKE custom ComputeClass, if planned.
    """

    pool: GcpPoolSettings
    ladder: LadderPlan
    shape: GcpShape
    gpu: str
    zones: Mapping[Tier, ZoneChoice]
    reservation: str | None
    compute_class: ComputeClassPlan | None


@dataclass(frozen=True)
class GkeRegionPlan:
    """One region in GKE mode: the cluster, its GPU pools and who reads weights there.

    Attributes:
        cluster: The cluster's settings.
        pools: The region's GCP pools, in configuration order.
        served_models: Models served on those pools (their weights readers get Workload Identity bindings).
        namespace: The serving namespace (``serving.namespace``).
    """

    cluster: GkeClusterPlan
    pools: tuple[GkePoolPlan, ...]
    served_models: frozenset[str]
    namespace: str


def _cluster(basis: PlanBasis, region: str) -> GkeClusterPlan:
    spec = basis.spec
    assert spec.gcp is not None
    gke = spec.gcp.gke
    return GkeClusterPlan(
        name=names.cluster_name(spec.environment, "gcp", region), region=region,
        node_account_id=service_account_id("gke", spec.environment, region),
        master_cidr=str(spec.gcp.network.master_cidr),
        master_authorized_cidrs=tuple(str(c) for c in gke.master_authorized_cidrs),
        release_channel=gke.release_channel, min_master_version=gcp_version("gke_kubernetes"),
        system_nodes=gke.system_nodes, system_machine_type=gke.system_machine_type,
        deletion_protection=spec.environment == "prod", system_pool_name=names.gke_system_pool(region))


def _pool(basis: PlanBasis, pool: GpuPoolSpec, region: str,
          compute_classes: Mapping[str, ComputeClassPlan]) -> GkePoolPlan:
    ladder = basis.ladder(pool.name)
    gpu = load_catalog().instance("gcp", pool.instance_types[0]).gpu.name
    return GkePoolPlan(
        pool=pool_settings(pool, ladder.rungs), ladder=ladder, shape=node_shape(basis, pool), gpu=gpu,
        zones={r.tier: zone_choice(basis, pool, r, region, floor=r.min_nodes) for r in ladder.rungs},
        reservation=pool.capacity.reservation, compute_class=compute_classes.get(pool.name))


def plan_gke_regions(basis: PlanBasis, regions: tuple[str, ...],
                     compute_classes: Mapping[str, ComputeClassPlan]) -> Mapping[str, GkeRegionPlan]:
    """Plan every GKE region: the cluster and a pool plan per GCP pool of the region.

    Args:
        basis: The planned stack (``gcp.mode`` is ``gke``).
        regions: Regions holding GCP GPU pools.
        compute_classes: Pool name -> its planned ComputeClass.
    """
    spec = basis.spec
    assert spec.gcp is not None
    out = {}
    for region in regions:
        pools = [p for p in spec.gcp.gpu_pools if spec.pool_region("gcp", p) == region]
        served = frozenset(m.name for m in spec.models if {p.name for p in pools} & set(m.pools))
        out[region] = GkeRegionPlan(cluster=_cluster(basis, region),
                                    pools=tuple(_pool(basis, p, region, compute_classes) for p in pools),
                                    served_models=served, namespace=spec.serving.namespace)
    return out
