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
from components.catalog.vocab import GCP

#: Namespace of the KEDA release (ours) and the ServiceAccount its operator runs as: the chart's
#: ``serviceAccount.operator.name`` default, used as the operator Deployment's ``serviceAccountName``
#: (kedacore/charts v2.20.2 keda/values.yaml, keda/templates/manager/deployment.yaml; we do not override it).
KEDA_NAMESPACE = "keda"
KEDA_OPERATOR_SA = "keda-operator"


@dataclass(frozen=True)
class GatewayPlan:
    """The gateway settings every cluster's router renders (``serving.routing``), planned once.

    Attributes:
        client_header: Header the gateway sets to the authenticated client id (clients cannot forge it).
        user_header: Header carrying the end-user id the canary buckets hash.
        override_header: Header internal clients name a model with.
        tier_header: Header whose value picks a tier rule for ``model: auto``.
        clients: Client ids besides ``default`` (each has a key in ``gpuinfra:router_api_keys``).
        rate_limit_requests_per_minute: Per-client limit at the gateway, or None (no limit).
    """

    client_header: str
    user_header: str
    override_header: str
    tier_header: str
    clients: tuple[str, ...]
    rate_limit_requests_per_minute: int | None


def plan_gateway(spec: StackSpec) -> GatewayPlan | None:
    """The routers' shared gateway settings, or None while ``serving.routing.enabled`` is false."""
    r = spec.serving.routing
    if not r.enabled:
        return None
    return GatewayPlan(client_header=r.client_header, user_header=r.user_header, override_header=r.override_header,
                       tier_header=r.tier_header, clients=tuple(r.clients),
                       rate_limit_requests_per_minute=r.rate_limit_requests_per_minute)


@dataclass(frozen=True)
class KubernetesClusterPlan:
    """What the serving layer renders on one Kubernetes cluster (EKS or GKE).

    Attributes:
        name: The cluster's name (``names.cluster_name``), which the cloud deploy hands back as a target.
        cloud / region: Where it runs.
        pools: GPU pools whose nodes join the cluster.
        workloads: Stable and canary Deployments of every fitting (model, pool) on those pools.
        routes: The cluster's routing table, when ``serving.routing.enabled``.
        gateway: Headers, clients and rate limit its router renders (None while routing is off).
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
    gateway: GatewayPlan | None = None


def keda_gcp_roles(spec: StackSpec, cloud: Cloud) -> tuple[str, ...]:
    """Roles of KEDA's Google identity on a cluster: the managed-Prometheus reader when KEDA queries it."""
    managed = spec.monitoring.enabled and spec.monitoring.provider == "gke-managed" and cloud == GCP
    return gcp_access.KEDA_PROJECT_ROLES if managed and spec.serving.enable_keda else ()


def plan_clusters(basis: PlanBasis, workloads: list[WorkloadPlan], routes: list[ClusterRoutes]) -> tuple[KubernetesClusterPlan, ...]:
    """Group the workloads by the cluster their pool joins (one cluster per Kubernetes cloud and region)."""
    spec = basis.spec
    out: dict[str, dict] = {}
    for cloud, pool in spec.pools():
        section = spec.section(cloud)
        if section is None or section.mode == "vm":
            continue
        region = spec.pool_region(cloud, pool)
        name = names.cluster_name(spec.environment, cloud, region)
        entry = out.setdefault(name, {"cloud": cloud, "region": region, "pools": []})
        entry["pools"].append(pool.name)
    by_name = {r.cluster: r for r in routes}
    gateway = plan_gateway(spec)
    return tuple(
        KubernetesClusterPlan(name=name, cloud=e["cloud"], region=e["region"], pools=tuple(e["pools"]),
                              workloads=tuple(w for w in workloads if w.pool in e["pools"]), routes=by_name.get(name),
                              gateway=gateway if name in by_name else None,
                              keda_gcp_roles=keda_gcp_roles(spec, e["cloud"]),
                              layer=plan_serving_layer(spec, e["cloud"],
                                                       tuple(w.model for w in workloads if w.pool in e["pools"])))
        for name, e in out.items())
