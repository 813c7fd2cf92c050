"""Wires the serving layer onto every cluster target: monitoring, cluster add-ons, one VllmService per (model, pool)."""
from __future__ import annotations

import pulumi

from components.plan.stack import StackPlan
from components.plan.serving_layer import ServingLayerPlan
from components.plan.workloads import WorkloadPlan
from components.k8s.serving_cluster import ServingCluster, ServingClusterArgs
from components.k8s.target import ClusterTarget
from components.k8s.vllm_service import VllmService, VllmServiceArgs


def _monitoring(stack: StackPlan, target: ClusterTarget):
    """The cluster's GpuMonitoring (created before the services, which scrape through it), or None."""
    if not stack.monitoring.enabled:
        return None
    from components.k8s.monitoring import deploy_monitoring  # noqa: PLC0415 (the monitoring engineer's module)

    return deploy_monitoring(stack.monitoring, target)


def _services(layer: ServingLayerPlan, target: ClusterTarget, cluster: ServingCluster, monitoring,
              workloads: list[WorkloadPlan]) -> list[VllmService]:
    services, accounts = [], set()
    opts = pulumi.ResourceOptions(providers=[target.provider])
    for stable in (w for w in workloads if not w.canary):
        canary = next((w for w in workloads if w.canary and (w.model, w.pool) == (stable.model, stable.pool)), None)
        args = VllmServiceArgs(layer=layer, target=target, cluster=cluster, stable=stable, canary=canary,
                               monitoring=monitoring, owns_service_account=stable.model not in accounts)
        accounts.add(stable.model)
        services.append(VllmService(f"{target.name}-{stable.model}-{stable.pool}", args, opts))
    return services


def _router(stack: StackPlan, target: ClusterTarget, services: list[VllmService], monitoring) -> None:
    """The cluster's ModelRouter in front of its services (``serving.routing.enabled``; see components/k8s/router.py)."""
    from components.k8s.router import ModelRouter, ModelRouterArgs  # noqa: PLC0415 (the router engineer's module)
    planned = stack.cluster(target.name)
    if planned is None or planned.routes is None or planned.gateway is None or planned.layer is None:
        return
    ModelRouter(f"{target.name}-router",
                ModelRouterArgs(target=target, routes=planned.routes, gateway=planned.gateway, layer=planned.layer,
                                services=services, monitoring=monitoring),
                pulumi.ResourceOptions(providers=[target.provider]))


def deploy_serving(stack: StackPlan, targets: list[ClusterTarget]) -> dict[str, list[VllmService]]:
    """Deploy monitoring, GPU software, KEDA and the vLLM services on each cluster target.

    Args:
        stack: The plan (replica maxima were checked against the pools' ladders while planning).
        targets: Clusters from deploy_aws / deploy_gcp.

    Returns:
        Cluster name -> its VllmServices (the router plugs in front of their ``service_name``).
    """
    out: dict[str, list[VllmService]] = {}
    for target in targets:
        monitoring = _monitoring(stack, target)
        planned = stack.cluster(target.name)
        workloads = list(planned.workloads) if planned else []
        if not workloads:
            continue
        cluster = ServingCluster(
            f"{target.name}-serving",
            ServingClusterArgs(layer=planned.layer, target=target,
                               monitoring_namespace=monitoring.namespace if monitoring else None),
            pulumi.ResourceOptions(providers=[target.provider]))
        out[target.name] = _services(planned.layer, target, cluster, monitoring, workloads)
        _router(stack, target, out[target.name], monitoring)
    return out
