"""Queue-depth autoscaling of the stable track: KEDA ScaledObject, or an autoscaling/v2 HPA fallback."""
from __future__ import annotations

import math

from components.k8s.manifests.names import INSTANCE_SERIES_LABEL, common_labels, workload_name
from components.plan.workloads import WorkloadPlan
from components.plan.serving_layer import AutoscalerPlan

METRIC = "vllm:num_requests_waiting"
#: prometheus-adapter exposes Prometheus series through the custom metrics API; ``:`` is not allowed in
#: its metric names, so the adapter rule renames ``vllm:(.*)`` to ``vllm_\\1`` (documented in the README).
ADAPTER_METRIC = "vllm_num_requests_waiting"
#: Ignore one-poll spikes before adding replicas.
SCALE_UP_STABILIZATION = 60
#: A replica takes minutes to become ready; adding more while the first ones still load overshoots.
SCALE_UP_PERIOD = 120
SCALE_DOWN_PERIOD = 300


def queue_query(w: WorkloadPlan) -> str:
    """Waiting requests of one Deployment's pods: its namespace, model and the pod label only its pods carry
    (the canary and the model's other pools export the same series; a router may export the same name)."""
    selector = (f'namespace="{w.namespace}",model_name="{w.model}",'
                f'{INSTANCE_SERIES_LABEL}="{workload_name(w.model, w.pool, w.canary)}"')
    return f"sum({METRIC}{{{selector}}}) or vector(0)"


def behavior(w: WorkloadPlan, autoscaling: AutoscalerPlan) -> dict:
    """HPA behaviour for minutes-long cold starts: slow, bounded scale-up; long scale-down stabilization."""
    step = max(1, math.ceil(w.max_replicas / 4))
    return {
        "scaleUp": {"stabilizationWindowSeconds": SCALE_UP_STABILIZATION, "selectPolicy": "Max",
                    "policies": [{"type": "Pods", "value": step, "periodSeconds": SCALE_UP_PERIOD}]},
        "scaleDown": {"stabilizationWindowSeconds": autoscaling.scale_down_stabilization_seconds,
                      "selectPolicy": "Min",
                      "policies": [{"type": "Pods", "value": 1, "periodSeconds": SCALE_DOWN_PERIOD}]},
    }


def scaled_object(w: WorkloadPlan, autoscaling: AutoscalerPlan, prometheus_url: str, auth: str | None = None) -> dict:
    """KEDA ScaledObject of the stable Deployment: Prometheus queue depth plus one cron floor per peak window.

    Args:
        w: The stable workload (its min/max are the pool's replica bounds).
        autoscaling: The model's autoscaler plan.
        prometheus_url: Prometheus query endpoint (from the monitoring component).
        auth: Name of a TriggerAuthentication (GKE managed Prometheus needs Workload Identity).
    """
    prometheus = {"type": "prometheus", "name": "queue-depth", "metadata": {
        "serverAddress": prometheus_url, "query": queue_query(w),
        "threshold": str(w.queue_depth_target), "activationThreshold": "0"}}
    if auth:
        prometheus["authenticationRef"] = {"name": auth}
    crons = [{"type": "cron", "name": f"peak-{i}", "metadata": {
        "timezone": window.timezone, "start": window.start, "end": window.end,
        "desiredReplicas": str(min(window.min_replicas, w.max_replicas))}}
        for i, window in enumerate(autoscaling.peak_windows)]
    name = workload_name(w.model, w.pool)
    return {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": w.namespace, "labels": common_labels(w.model, w.pool)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicaCount": w.min_replicas, "maxReplicaCount": w.max_replicas,
            "pollingInterval": autoscaling.polling_interval_seconds,
            "cooldownPeriod": autoscaling.scale_down_stabilization_seconds,
            "advanced": {"horizontalPodAutoscalerConfig": {"behavior": behavior(w, autoscaling)}},
            "triggers": [prometheus, *crons],
        },
    }


def trigger_authentication(namespace: str) -> dict:
    """KEDA TriggerAuthentication using the KEDA operator's GCP Workload Identity (managed Prometheus)."""
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
            "metadata": {"name": "gmp-workload-identity", "namespace": namespace},
            "spec": {"podIdentity": {"provider": "gcp"}}}


def horizontal_pod_autoscaler(w: WorkloadPlan, autoscaling: AutoscalerPlan) -> dict:
    """autoscaling/v2 HPA on the same signal through the custom metrics API (needs prometheus-adapter).

    A Pods metric is averaged over the Deployment's own pods, so namespace and Deployment are implied;
    ``model_name`` is still matched. Peak windows need KEDA's cron trigger and are not rendered here.
    """
    name = workload_name(w.model, w.pool)
    return {
        "metadata": {"name": name, "namespace": w.namespace, "labels": common_labels(w.model, w.pool)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": max(1, w.min_replicas), "maxReplicas": max(1, w.max_replicas),
            "metrics": [{"type": "Pods", "pods": {
                "metric": {"name": ADAPTER_METRIC, "selector": {"matchLabels": {"model_name": w.model}}},
                "target": {"type": "AverageValue", "averageValue": str(w.queue_depth_target)}}}],
            "behavior": behavior(w, autoscaling),
        },
    }
