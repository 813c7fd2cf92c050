"""GpuMonitoring: Prometheus, Grafana and DCGM exporter per cluster (or GKE managed collection), rules and dashboards."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.catalog.versions import chart
from components.k8s import monitoring_values as mv
from components.k8s.target import ClusterTarget
from components.plan.monitoring import MonitoringPlan
from components.secrets import grafana_admin_password
from components.catalog.vocab import GCP

TOKEN = "gpuinfra:k8s:GpuMonitoring"
#: Managed Service for Prometheus query API (KEDA / Grafana talk to it with Workload Identity).
GMP_QUERY_URL = "https://monitoring.googleapis.com/v1/projects/{project}/location/global/prometheus"


@dataclass(frozen=True)
class GpuMonitoringArgs:
    """What one cluster's monitoring needs."""

    plan: MonitoringPlan
    target: ClusterTarget


class GpuMonitoring(pulumi.ComponentResource):
    """kube-prometheus-stack + dcgm-exporter Helm releases, PrometheusRule and dashboard ConfigMaps.

    With ``monitoring.provider: gke-managed`` on GKE: no self-managed stack; the same rule groups become a
    ``ClusterRules`` object of Google Cloud Managed Service for Prometheus (managed DCGM collection and
    managed Prometheus are enabled on the cluster by the GKE component).
    """

    operator: pulumi.Resource
    """What ServiceMonitors/PrometheusRules must depend on (the CRDs' owner)."""
    service_monitor_labels: dict[str, str]
    """Labels Prometheus selects ServiceMonitors, PodMonitors and PrometheusRules by."""
    prometheus_url: str
    namespace: str
    managed: bool

    def __init__(self, name: str, args: GpuMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, {}, opts)
        self._name, self._target = name, args.target
        self._args_plan = args.plan
        self.namespace = mv.NAMESPACE
        self.service_monitor_labels = dict(mv.SELECTOR_LABELS)
        self.managed = args.plan.provider == "gke-managed" and args.target.cloud == GCP
        namespace = self._create_namespace()
        if self.managed:
            self.prometheus_url = GMP_QUERY_URL.format(project=pulumi.Config("gcp").get("project") or "PROJECT")
            self.operator = self._create_cluster_rules()
        else:
            self.prometheus_url = mv.prometheus_url()
            secret = self._create_grafana_secret(namespace)
            self.operator = self._create_prometheus_stack(namespace, secret)
            self._create_dcgm_exporter()
            self._create_prometheus_rule()
            self._create_dashboards()
        self.register_outputs({"namespace": self.namespace, "prometheus_url": self.prometheus_url,
                               "managed": self.managed})

    def _child(self, *depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, *self._target.ready])

    def _create_namespace(self) -> k8s.core.v1.Namespace:
        return k8s.core.v1.Namespace(f"{self._name}-namespace", metadata={"name": mv.NAMESPACE}, opts=self._child())

    def _create_grafana_secret(self, namespace: k8s.core.v1.Namespace) -> k8s.core.v1.Secret:
        # The password lives only in this Secret (a Pulumi secret input); the Helm values name the Secret.
        return k8s.core.v1.Secret(
            f"{self._name}-grafana-admin", metadata={"name": mv.GRAFANA_SECRET, "namespace": mv.NAMESPACE},
            type="Opaque", string_data={"admin-user": "admin", "admin-password": grafana_admin_password()},
            opts=self._child(namespace))

    def _release(self, role: str, key: str, values: dict, *depends_on: pulumi.Resource) -> k8s.helm.v3.Release:
        pinned = chart(key)
        return k8s.helm.v3.Release(
            f"{self._name}-{role}", name=key, namespace=mv.NAMESPACE, chart=pinned.chart, version=pinned.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=pinned.repo), values=values,
            timeout=900, opts=self._child(*depends_on))

    def _create_prometheus_stack(self, namespace: pulumi.Resource, secret: pulumi.Resource) -> k8s.helm.v3.Release:
        # The chart installs the prometheus-operator CRDs (ServiceMonitor, PrometheusRule...) first.
        values = mv.prometheus_stack_values(self._args_plan, self._target.cloud)
        return self._release("prometheus-stack", mv.STACK_RELEASE, values, namespace, secret)

    def _create_dcgm_exporter(self) -> k8s.helm.v3.Release:
        # Its ServiceMonitor needs the CRD from the stack release.
        return self._release("dcgm-exporter", mv.DCGM_RELEASE, mv.dcgm_values(self._target.cloud), self.operator)

    def _create_prometheus_rule(self) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            f"{self._name}-rules", api_version="monitoring.coreos.com/v1", kind="PrometheusRule",
            metadata={"name": "gpuinfra", "namespace": mv.NAMESPACE, "labels": dict(mv.SELECTOR_LABELS)},
            spec={"groups": list(self._args_plan.rule_groups)}, opts=self._child(self.operator))

    def _create_dashboards(self) -> list[k8s.core.v1.ConfigMap]:
        return [k8s.core.v1.ConfigMap(
            f"{self._name}-dashboard-{stem}",
            metadata={"name": f"gpuinfra-dashboard-{stem}", "namespace": mv.NAMESPACE,
                      "labels": {"grafana_dashboard": "1"}},
            data={f"gpuinfra-{stem}.json": json.dumps(board, sort_keys=True)}, opts=self._child(self.operator))
            for stem, board in self._args_plan.dashboards.items()]

    def _create_cluster_rules(self) -> k8s.apiextensions.CustomResource:
        # ClusterRules (not namespaced Rules): managed DCGM metrics live outside the serving namespace.
        return k8s.apiextensions.CustomResource(
            f"{self._name}-rules", api_version="monitoring.googleapis.com/v1", kind="ClusterRules",
            metadata={"name": "gpuinfra"}, spec={"groups": list(self._args_plan.rule_groups)}, opts=self._child())


def deploy_monitoring(plan: MonitoringPlan, target: ClusterTarget) -> GpuMonitoring:
    """Monitoring of one cluster, on that cluster's Kubernetes provider.

    Args:
        plan: The monitoring plan (callers gate on ``plan.enabled``).
        target: The cluster.

    Returns:
        The component; ServiceMonitors of the serving layer carry ``service_monitor_labels`` and depend on
        ``operator``.
    """
    return GpuMonitoring(f"{target.name}-monitoring", GpuMonitoringArgs(plan, target),
                         pulumi.ResourceOptions(providers=[target.provider]))
