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


#: Admission-webhook and aggregated-API ports the control plane must open on pods of the charts we install, at the
#: pinned versions (versions.yaml ``charts``). A private cluster's control plane reaches nodes only on 443 and 10250
#: through GKE's own firewall rule (cloud.google.com/service-mesh/docs/private-cluster-open-port, read 2026-12-03:
#: other webhook ports need a rule from master-ipv4-cidr; kube-prometheus-stack values.yaml says so of its 10250:
#: "to work out-of-the-box in GKE private clusters and avoid adding firewall rules"); every other port needs a rule.
#: - KEDA 2.20.2 (kedacore/charts v2.20.2): admission webhooks keda/templates/webhooks/service.yaml
#:   ``targetPort: {{ .Values.webhooks.port | default 9443 }}``; metrics apiserver (the v1beta1.external.metrics
#:   APIService) keda/values.yaml ``service.portHttpsTarget: 6443``.
#: - Envoy Gateway gateway-helm (envoyproxy/gateway v1.9.0, the newest 1.9 tag mirrored; pinned v1.9.3):
#:   templates/envoy-proxy-topology-injector-webhook.yaml, a MutatingWebhookConfiguration on service port 9443
#:   (targetPort 9443), ``topologyInjector.enabled: true`` by default (values.tmpl.yaml).
#: - kube-prometheus-stack (prometheus-community/helm-charts kube-prometheus-stack-88.5.3, the newest tag mirrored;
#:   pinned 91.2.1): the operator's admission webhooks on ``prometheusOperator.tls.internalPort: 10250``.
#: Named although GKE's rule admits 10250, so the reach does not hang on a rule we do not own.
KEDA_WEBHOOK_PORT, KEDA_METRICS_API_PORT = 9443, 6443
ENVOY_GATEWAY_WEBHOOK_PORT = 9443
PROMETHEUS_OPERATOR_WEBHOOK_PORT = 10250


@dataclass(frozen=True)
class MasterWebhookPlan:
    """The firewall rule letting a private cluster's control plane call webhooks and aggregated APIs on pods.

    Attributes:
        source_range: The control plane's range (``gcp.network.master_cidr``).
        ports: TCP ports, sorted and unique (empty: no rule).
        reasons: Port -> the charts that serve on it.
    """

    source_range: str
    ports: tuple[int, ...]
    reasons: dict[int, tuple[str, ...]]


def plan_master_webhooks(spec: StackSpec) -> MasterWebhookPlan:
    """Ports the control plane must reach on the nodes for every webhook the stack installs."""
    wanted: list[tuple[int, str]] = []
    if spec.serving.enable_keda:
        wanted += [(KEDA_WEBHOOK_PORT, "keda admission webhooks"), (KEDA_METRICS_API_PORT, "keda metrics apiserver")]
    if spec.serving.routing.enabled:
        wanted.append((ENVOY_GATEWAY_WEBHOOK_PORT, "envoy-gateway topology injector"))
    if spec.monitoring.enabled and spec.monitoring.provider == "self-managed":
        wanted.append((PROMETHEUS_OPERATOR_WEBHOOK_PORT, "kube-prometheus-stack operator webhooks"))
    reasons: dict[int, tuple[str, ...]] = {}
    for port, why in wanted:
        reasons[port] = (*reasons.get(port, ()), why)
    assert spec.gcp is not None
    return MasterWebhookPlan(source_range=str(spec.gcp.network.master_cidr), ports=tuple(sorted(reasons)),
                             reasons=dict(sorted(reasons.items())))
