"""GCP VM-mode queue autoscaling: the per-pool metric group and each burst rung's scaling rule (pure)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from components.plan.ladder import LadderPlan, Rung

#: vLLM's waiting-request gauge as the Ops Agent's Prometheus receiver writes it to Cloud Monitoring
#: (``prometheus.googleapis.com/<name>/<kind>``, resource type ``prometheus_target``).
QUEUE_METRIC = "prometheus.googleapis.com/vllm:num_requests_waiting/gauge"
#: Metric label the boot script's Ops Agent scrape config adds to every vLLM series (``static_configs[].labels``):
#: the pool's VMs behind one load balancer, which only exists in the pool's region.
GROUP_LABEL = "gpuinfra_group"


def metrics_group(environment: str, pool: str) -> str:
    """Value of ``GROUP_LABEL`` on one pool's VMs: ``<environment>-<pool>`` (a pool lives in one region)."""
    group = f"{environment}-{pool}"
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", group):
        raise ValueError(f"metrics group {group!r} is not a lowercase label value")
    return group


def queue_filter(model: str, group: str) -> str:
    """Cloud Monitoring filter of one pool's waiting-request series for one model.

    Compute Engine's autoscaler takes only ``=`` selectors joined by AND; a resource type other than
    ``gce_instance`` makes the metric per-group, and when the filter matches several time series it sums them
    (pulumi-gcp 10.2.0 ``RegionAutoscalerAutoscalingPolicyMetricArgs.filter``, the Compute API's
    ``AutoscalingPolicyCustomMetricUtilization.filter``). Without the group label that sum covered every VM
    serving the model in every pool and region, so every burst group scaled on the same total.
    """
    return (f'resource.type = "prometheus_target" AND metric.labels.{GROUP_LABEL} = "{group}" '
            f'AND metric.labels.model_name = "{model}"')


@dataclass(frozen=True)
class QueueScaling:
    """One burst rung's autoscaling metric: exactly one of the two targets is set.

    Attributes:
        metric / filter: The Cloud Monitoring metric and its per-pool filter.
        single_instance_assignment: Waiting requests one VM takes: VMs = queue / assignment (scales from zero).
        utilization_target: A queue depth to hold: VMs are added while the queue is above it, removed below.
    """

    metric: str
    filter: str
    single_instance_assignment: float | None = None
    utilization_target: float | None = None


def queue_scaling(ladder: LadderPlan, rung: Rung, model: str, group: str, queue_target: int) -> QueueScaling:
    """How a burst rung scales on its pool's queue.

    The spot (or flex-start) burst takes ``queue_target`` waiting requests per VM. The on-demand fallback scales
    on the spot rung's shortfall: it holds the pool's queue at the depth the full spot rung is assigned
    (``queue_target`` x spot ``max_nodes``, a utilization target: "creates VMs when the metric value is above the
    target and deletes VMs when below", Compute Engine "Scale based on Monitoring metrics"). While spot VMs
    absorb the load the queue stays under that depth and the fallback stays at zero; it grows only when the queue
    outgrows what every spot VM could take (spot at its maximum, or out of capacity and the queue building).

    Args:
        ladder: The pool's ladder.
        rung: A burst rung of it (spot or on-demand-fallback).
        model: The served model (the series' ``model_name`` label).
        group: The pool's metrics group (:func:`metrics_group`).
        queue_target: Waiting requests per VM that justify one more (``models[].autoscaling``).

    Returns:
        The rung's metric rule.
    """
    metric, where = QUEUE_METRIC, queue_filter(model, group)
    if rung.tier != "on-demand-fallback":
        return QueueScaling(metric, where, single_instance_assignment=float(queue_target))
    spot = ladder.rung("spot")
    return QueueScaling(metric, where, utilization_target=float(queue_target * max(1, spot.max_nodes if spot else 1)))
