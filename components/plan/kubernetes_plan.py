"""The serving layer's slice of the plan: per Kubernetes cluster its pools, workloads and router."""
from __future__ import annotations

from dataclasses import dataclass

from components.plan import gcp_access, names
from components.plan.basis import PlanBasis
from components.plan.routing import ClusterRoutes
from components.plan.serving_layer import ServingLayerPlan, plan_serving_layer
from components.plan.workloads import WorkloadPlan
from components.spec import StackSpec
from components.spec.base import Cloud
from components.catalog.vocab import AWS, GCP

#: Namespace of the KEDA release (ours) and the ServiceAccount its operator runs as: the chart's
#: ``serviceAccount.operator.name`` default, used as the operator Deployment's ``serviceAccountName``
#: (kedacore/charts v2.20.2 keda/values.yaml, keda/templates/manager/deployment.yaml; we do not override it).
KEDA_NAMESPACE = "keda"
KEDA_OPERATOR_SA = "keda-operator"


@dataclass(frozen=True)
class KubernetesClusterPlan:
    """What the serving layer renders on one Kubernetes cluster (EKS or GKE).

    Attributes:
        name: The cluster's name (``names.cluster_name``), which the cloud deploy hands back as a target.
        cloud / region: Where it runs.
        pools: GPU pools whose nodes join the cluster.
        workloads: Stable and canary Deployments of every fitting (model, pool) on those pools.
        routes: The cluster's router, when ``serving.routing.enabled``.
        keda_gcp_roles: Project roles KEDA's operator needs through GCP Workload Identity (empty: KEDA needs
            no Google identity): its queries go to Managed Service for Prometheus on GKE with ``gke-managed``.
        layer: Namespace, KEDA, exposure and autoscaler settings the serving components render.
    """

    name: str
    cloud: Cloud
    region: str
    pools: tuple[str, ...]
    workloads: tuple[WorkloadPlan, ...]
    routes: ClusterRoutes | None
    keda_gcp_roles: tuple[str, ...] = ()
    layer: ServingLayerPlan | None = None


def keda_gcp_roles(spec: StackSpec, cloud: Cloud) -> tuple[str, ...]:
    """Roles of KEDA's Google identity on a cluster: the managed-Prometheus reader when KEDA queries it."""
    managed = spec.monitoring.enabled and spec.monitoring.provider == "gke-managed" and cloud == GCP
    return gcp_access.KEDA_PROJECT_ROLES if managed and spec.serving.enable_keda else ()


def plan_clusters(basis: PlanBasis, workloads: list[WorkloadPlan], routes: list[ClusterRoutes]) -> tuple[KubernetesClusterPlan, ...]:
    """Group the workloads by the cluster their pool joins (one cluster per Kubernetes cloud and region)."""
    spec = basis.spec
    out: dict[str, dict] = {}
    for cloud, pool in spec.pools():
        section = spec.aws if cloud == AWS else spec.gcp
        if section is None or section.mode == "vm":
            continue
        region = spec.pool_region(cloud, pool)
        name = names.cluster_name(spec.environment, cloud, region)
        entry = out.setdefault(name, {"cloud": cloud, "region": region, "pools": []})
        entry["pools"].append(pool.name)
    by_name = {r.cluster: r for r in routes}
    return tuple(
        KubernetesClusterPlan(name=name, cloud=e["cloud"], region=e["region"], pools=tuple(e["pools"]),
                              workloads=tuple(w for w in workloads if w.pool in e["pools"]), routes=by_name.get(name),
                              keda_gcp_roles=keda_gcp_roles(spec, e["cloud"]),
                              layer=plan_serving_layer(spec, e["cloud"],
                                                       tuple(w.model for w in workloads if w.pool in e["pools"])))
        for name, e in out.items())
