"""The plan's report sections (cost, model fit, warnings, routing), read from the ``StackPlan``."""
from __future__ import annotations

import datetime as dt

from components.catalog import load_catalog
from components.plan.compute_class import priority_rows
from components.plan.aws_reservations import plan_reservations
from components.plan.routing import kubernetes_pools_by_model, routing_rows
from components.plan.stack import StackPlan
from components.plan.traffic_checks import traffic_warnings
from components.spec import StackSpec


def sizing_rows(stack: StackPlan) -> list[dict]:
    """One row per (model, pool, instance type): the fit the serving layer deploys."""
    rows = []
    for plan in stack.serving:
        for result in plan.fits_by_type:
            rows.append({
                "model": plan.model, "pool": plan.pool, "cloud": plan.cloud, "region": plan.region,
                "instance_type": result.instance_type, "gpu": result.gpu, "gpus_per_node": result.gpus_per_node,
                "tp": plan.tp, "replicas_per_node": result.replicas_per_node,
                "weights_gib_per_gpu": round(result.weights_gib_per_gpu, 2), "kv_tokens": result.kv_tokens,
                "max_concurrency": result.max_concurrency, "min_concurrency": result.concurrency,
                "max_model_len": result.max_model_len, "fits": result.fits, "reason": result.reason,
                "max_replicas": plan.max_replicas, "load_format": plan.load_format,
                "engine_args": plan.engine_args.argv() if plan.engine_args else [],
                "queue_depth_target": plan.queue_depth_target, "traffic": traffic_row(plan),
            })
    return rows


def traffic_row(plan) -> dict | None:
    """The pool's share of its model's traffic and the replicas it needs (None without traffic)."""
    t = plan.traffic
    if t is None:
        return None
    return {"peak_rps": round(t.peak_rps, 3), "average_rps": round(t.average_rps, 3), "share": round(t.share, 4),
            "failover_share": round(t.failover_share, 4), "availability": t.availability,
            "replica_rps": round(t.replica.requests_per_second, 3), "replica_batch": round(t.replica.batch, 1),
            "replica_ttft_p95_s": round(t.replica.ttft_s, 3), "replica_itl_p95_s": round(t.replica.itl_s, 4),
            "replicas_peak": t.replicas_peak, "replicas_average": t.replicas_average,
            "hourly_replicas": list(t.hourly_replicas) if t.hourly_replicas else None}


def warnings(spec: StackSpec, today: dt.date | None = None) -> list[str]:
    """Things a reviewer should see that are not policy violations."""
    out = load_catalog().stale_warnings(today or dt.date.today(), spec.policy.catalog_max_age_days)
    out += [f"capacity block {b.name} is not bought (nothing is looked up at deploy time): {b.next_step}"
            for b in plan_reservations(spec)[1] if not b.buy]
    if spec.aws and spec.aws.mode == "eks" and not spec.aws.eks.viewer_principal_arns:
        out.append("gpuinfra:aws.eks.viewer_principal_arns is empty: the preview and drift workflows' role "
                   "(AWS_PREVIEW_ROLE_ARN) has no access entry, so their cloud runs cannot read the EKS clusters; "
                   "add its IAM role ARN")
    out += canary_warnings(spec)
    return out


def canary_warnings(spec: StackSpec) -> list[str]:
    """A canary on a model that also has VM-mode pools splits only the Kubernetes clusters' traffic."""
    k8s_pools = kubernetes_pools_by_model(spec)
    out = []
    for index, model in enumerate(spec.models):
        vm_pools = [p for p in model.pools if p not in k8s_pools.get(model.name, ())]
        if model.canary and model.name in k8s_pools and vm_pools:
            out.append(f"gpuinfra:models[{index}].canary takes {model.canary.percent}% of the Kubernetes clusters' "
                       f"traffic only: its VM-mode pools ({', '.join(vm_pools)}) serve the stable revision")
    return out


def build_report(stack: StackPlan) -> dict:
    """The ``cost``, ``sizing``, ``warnings``, ``routing`` and ``priorities`` sections of the plan (``priorities``: each
    ladder's rungs with the EKS cluster-autoscaler priority next to their rank in a GKE ComputeClass)."""
    spec = stack.basis.spec
    return {
        "cost": stack.cost.to_json(),
        "sizing": sizing_rows(stack),
        "warnings": warnings(spec) + traffic_warnings(spec, stack.serving),
        "routing": routing_rows(spec, stack.routes),
        "priorities": priority_rows(list(stack.ladders.values())),
    }
