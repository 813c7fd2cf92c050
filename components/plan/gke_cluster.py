"""GKE cluster decisions: managed metrics collection and the control plane's webhook reach into the nodes."""
from __future__ import annotations

from dataclasses import dataclass

from components.spec import StackSpec

#: GKE's metric packages the cluster always sends: system metrics (kubernetes.io/*), which GKE needs for its own
#: dashboards and which cannot be switched off while any other package is on.
SYSTEM_COMPONENTS = "SYSTEM_COMPONENTS"
#: GKE-managed DCGM metrics (terraform-provider-google v7.45.0 google/services/container/resource_container_cluster.go
#: monitoring_config.enable_components: "Valid values include SYSTEM_COMPONENTS, ..., DCGM and JOBSET"). They are
#: collected by Managed Service for Prometheus's managed collection, which must be on too (GKE docs,
#: docs.cloud.google.com/stackdriver/docs/managed-prometheus/exporters/nvidia-dcgm, read 2026-12-03: "You must be
#: running Managed Service for Prometheus with managed collection enabled").
DCGM = "DCGM"


@dataclass(frozen=True)
class GkeMonitoringPlan:
    """What a GKE cluster's ``monitoring_config`` turns on.

    Attributes:
        enable_components: Metric packages (``monitoring_config.enable_components``), SYSTEM_COMPONENTS first.
        managed_prometheus: Managed collection of Managed Service for Prometheus
            (``monitoring_config.managed_prometheus.enabled``): it runs the collectors that read PodMonitoring
            and evaluate ClusterRules, and it carries the managed DCGM metrics.
    """

    enable_components: tuple[str, ...]
    managed_prometheus: bool


def plan_gke_monitoring(spec: StackSpec) -> GkeMonitoringPlan:
    """Turn on together what the chosen monitoring provider needs on GKE.

    ``monitoring.provider: gke-managed`` drops the self-managed stack and its DCGM exporter and renders
    PodMonitoring / ClusterRules instead, so the cluster must run managed collection and GKE's DCGM package; the
    explicit ``gcp.gke.enable_managed_*`` switches keep working for the self-managed provider.
    """
    gke = spec.gcp.gke if spec.gcp else None
    managed = spec.monitoring.enabled and spec.monitoring.provider == "gke-managed"
    dcgm = managed or bool(gke and gke.enable_managed_dcgm)
    prometheus = dcgm or managed or bool(gke and gke.enable_managed_prometheus)
    return GkeMonitoringPlan(enable_components=(SYSTEM_COMPONENTS, *((DCGM,) if dcgm else ())),
                             managed_prometheus=prometheus)
