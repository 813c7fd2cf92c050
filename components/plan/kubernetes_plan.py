"""The serving layer's slice of the plan: per Kubernetes cluster its pools, workloads and router."""
from __future__ import annotations

from dataclasses import dataclass

from components.plan import names
from components.plan.basis import PlanBasis
from components.plan.routing import ClusterRoutes
from components.plan.workloads import WorkloadPlan
from components.spec.base import Cloud


@dataclass(frozen=True)
class KubernetesClusterPlan:
    """What the serving layer renders on one Kubernetes cluster (EKS or GKE).

    Attributes:
        name: The cluster's name (``names.cluster_name``), which the cloud deploy hands back as a target.
        cloud / region: Where it runs.
        pools: GPU pools whose nodes join the cluster.
        workloads: Stable and canary Deployments of every fitting (model, pool) on those pools.
        routes: The cluster's router, when ``serving.routing.enabled``.
    """

    name: str
    cloud: Cloud
    region: str
    pools: tuple[str, ...]
    workloads: tuple[WorkloadPlan, ...]
    routes: ClusterRoutes | None


def plan_clusters(basis: PlanBasis, workloads: list[WorkloadPlan], routes: list[ClusterRoutes]) -> tuple[KubernetesClusterPlan, ...]:
    """Group the workloads by the cluster their pool joins (one cluster per Kubernetes cloud and region)."""
    spec = basis.spec
    out: dict[str, dict] = {}
    for cloud, pool in spec.pools():
        section = spec.aws if cloud == "aws" else spec.gcp
        if section is None or section.mode == "vm":
            continue
        region = spec.pool_region(cloud, pool)
        name = names.cluster_name(spec.environment, cloud, region)
        entry = out.setdefault(name, {"cloud": cloud, "region": region, "pools": []})
        entry["pools"].append(pool.name)
    by_name = {r.cluster: r for r in routes}
    return tuple(
        KubernetesClusterPlan(name=name, cloud=e["cloud"], region=e["region"], pools=tuple(e["pools"]),
                              workloads=tuple(w for w in workloads if w.pool in e["pools"]), routes=by_name.get(name))
        for name, e in out.items())
