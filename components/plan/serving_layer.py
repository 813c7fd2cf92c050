"""The serving layer of one Kubernetes cluster, planned once: namespace, KEDA, exposure and autoscaler settings."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.spec import StackSpec
from components.spec.base import Cloud
from components.catalog.vocab import GCP


@dataclass(frozen=True)
class ExposurePlan:
    """How clients reach the serving namespace (``serving.exposure`` and its public endpoint).

    Attributes:
        exposure: ``cluster-ip``, ``internal`` or ``public``.
        tls_certificate: ACM certificate ARN (EKS) or Google managed certificate name (GKE), for ``public``.
        public_hostname: DNS name of the public endpoint, for ``public``.
    """

    exposure: str
    tls_certificate: str | None = None
    public_hostname: str | None = None


@dataclass(frozen=True)
class PeakWindowPlan:
    """A daily peak that raises the replica floor (one KEDA cron trigger)."""

    start: str
    end: str
    timezone: str
    min_replicas: int


@dataclass(frozen=True)
class AutoscalerPlan:
    """Queue-depth autoscaler settings of one model's stable tracks (``models[].autoscaling``).

    Attributes:
        scale_down_stabilization_seconds: Minimum time before removing replicas (HPA behaviour, KEDA cooldown).
        polling_interval_seconds: How often KEDA reads the queue metric.
        peak_windows: Cron floors (KEDA only; the HPA fallback cannot render them).
    """

    scale_down_stabilization_seconds: int
    polling_interval_seconds: int
    peak_windows: tuple[PeakWindowPlan, ...] = ()


@dataclass(frozen=True)
class ServingLayerPlan:
    """What ``components.k8s`` renders on one cluster besides the workloads themselves.

    Attributes:
        namespace: Namespace of the vLLM services (``serving.namespace``).
        exposure: The stack's exposure; the NetworkPolicies admit the load balancers' traffic by it.
        service_exposure: Per-service load balancer / Ingress; None when the router is the one endpoint
            (``serving.routing.enabled``: no per-model endpoint may bypass its keys and rate limits).
        keda: Whether KEDA is installed (``serving.enable_keda``); else the autoscaler is an HPA.
        managed_prometheus: Monitoring runs on Google Cloud Managed Service for Prometheus (GKE, ``gke-managed``):
            the serving pods are scraped by PodMonitoring and KEDA authenticates with Workload Identity.
        autoscalers: Model name -> its autoscaler settings.
    """

    namespace: str
    exposure: ExposurePlan
    service_exposure: ExposurePlan | None
    keda: bool
    managed_prometheus: bool
    autoscalers: Mapping[str, AutoscalerPlan]


def _autoscaler(spec: StackSpec, model: str) -> AutoscalerPlan:
    settings = next(m for m in spec.models if m.name == model).autoscaling
    return AutoscalerPlan(
        scale_down_stabilization_seconds=settings.scale_down_stabilization_seconds,
        polling_interval_seconds=settings.polling_interval_seconds,
        peak_windows=tuple(PeakWindowPlan(start=w.start, end=w.end, timezone=w.timezone, min_replicas=w.min_replicas)
                           for w in settings.peak_windows))


def plan_serving_layer(spec: StackSpec, cloud: Cloud, models: tuple[str, ...]) -> ServingLayerPlan:
    """The serving layer of one cluster on ``cloud`` serving ``models``.

    Args:
        spec: The validated stack.
        cloud: The cluster's cloud (managed Prometheus exists on GKE only).
        models: Models with a workload on the cluster (their autoscaler settings are planned).

    Returns:
        The cluster's slice; ``components.k8s`` renders it without reading the spec.
    """
    serving, mon = spec.serving, spec.monitoring
    exposure = ExposurePlan(exposure=serving.exposure, tls_certificate=serving.tls_certificate,
                            public_hostname=serving.public_hostname)
    return ServingLayerPlan(
        namespace=serving.namespace, exposure=exposure,
        service_exposure=None if serving.routing.enabled else exposure, keda=serving.enable_keda,
        managed_prometheus=mon.enabled and mon.provider == "gke-managed" and cloud == GCP,
        autoscalers={m: _autoscaler(spec, m) for m in dict.fromkeys(models)})
