"""Private GKE: the control plane reaches every admission webhook and aggregated API the stack's charts install."""
from __future__ import annotations

import ipaddress

from components.k8s.manifests import charts
from components.k8s.manifests.router import envoy_gateway_values
from components.plan import names
from components.plan.gke_cluster import KEDA_METRICS_API_PORT, KEDA_WEBHOOK_PORT, PROMETHEUS_OPERATOR_WEBHOOK_PORT
from tests.conftest import plan_of
from tests.gcp import variants
from tests.upstream.chart_values import CHARTS, defaults

FIREWALL = "gcp:compute/firewall:Firewall"
#: Ports the pinned charts serve webhooks / aggregated APIs on (read upstream, Apache-2.0 charts):
#: kedacore/charts v2.20.2 keda/templates/webhooks/service.yaml ``targetPort: {{ .Values.webhooks.port | default
#: 9443 }}`` and keda/values.yaml ``service.portHttpsTarget: 6443`` (metrics apiserver behind the APIService);
#: envoyproxy/gateway v1.9.0 charts/gateway-helm/templates/envoy-proxy-topology-injector-webhook.yaml
#: (MutatingWebhookConfiguration, service port 9443, topologyInjector.enabled true by default).
KEDA_PORTS = {"9443", "6443"}
ENVOY_GATEWAY_PORTS = {"9443"}
#: GKE's own rule for a private cluster (gke-<cluster>-<hash>-master) admits the control plane range on tcp:10250 and
#: tcp:443 only; any other webhook port needs a rule from master-ipv4-cidr (Cloud Service Mesh docs "Open ports on a
#: private cluster", cloud.google.com/service-mesh/docs/private-cluster-open-port, read 2026-12-03); the
#: kube-prometheus-stack chart keeps its operator webhook on 10250 for that reason (values.yaml at 88.5.3).
GKE_DEFAULT_MASTER_PORTS = {"443", "10250"}


def _rule(stack):
    name = names.cluster_name(stack.spec.environment, "gcp", stack.spec.gcp.region)
    return stack.one(FIREWALL, f"{name}-master-webhooks").inputs


def test_keda_webhook_and_metrics_api_are_reachable_from_the_master_range(staging):
    """Issue 18 item 6: without this rule KEDA's webhooks (9443) and metrics apiserver (6443) are unreachable from
    the private control plane (no such rule existed before the fix)."""
    assert staging.spec.serving.enable_keda
    rule = _rule(staging)
    assert rule["direction"] == "INGRESS"
    assert rule["sourceRanges"] == [str(staging.spec.gcp.network.master_cidr)]
    assert ipaddress.ip_network(rule["sourceRanges"][0]).prefixlen == 28
    ports = {p for allow in rule["allows"] if allow["protocol"] == "tcp" for p in allow["ports"]}
    assert KEDA_PORTS <= ports
    account = staging.one("gcp:serviceaccount/account:Account", f"{names.cluster_name('staging', 'gcp', 'us-central1')}-nodes")
    assert rule["targetServiceAccounts"] == [account.outputs["email"]]


def test_router_adds_the_envoy_gateway_webhook(prod):
    assert prod.spec.serving.routing.enabled
    ports = {p for allow in _rule(prod)["allows"] for p in allow["ports"]}
    assert (KEDA_PORTS | ENVOY_GATEWAY_PORTS) <= ports


def _chart_default(chart: str, *path: str):
    """A default from the chart's vendored values.yaml (tests/upstream/charts/, sources in SOURCE.md)."""
    node = defaults(CHARTS / chart)
    for key in path:
        node = node[key]
    return node


def test_planned_ports_are_the_pinned_charts_defaults():
    """Read from the vendored chart values, not restated: KEDA's metrics apiserver container port, the webhook port
    left to its template default 9443 (webhooks.port empty), the prometheus-operator webhook port, Envoy Gateway's
    topology injector on by default (its webhook port, 9443, is fixed in the template)."""
    assert _chart_default("keda", "service", "portHttpsTarget") == KEDA_METRICS_API_PORT == 6443
    assert _chart_default("keda", "webhooks", "port") == "" and KEDA_WEBHOOK_PORT == 9443
    assert _chart_default("kube-prometheus-stack", "prometheusOperator", "tls", "internalPort") == \
        PROMETHEUS_OPERATOR_WEBHOOK_PORT
    assert _chart_default("kube-prometheus-stack", "prometheusOperator", "admissionWebhooks", "enabled") is True
    assert _chart_default("gateway-helm", "topologyInjector", "enabled") is True


def test_our_chart_values_keep_the_upstream_ports():
    """The ports above are chart defaults: values that moved them would need the rule to move too."""
    keda = charts.keda_values()
    assert "port" not in keda.get("webhooks", {}) and "portHttpsTarget" not in keda.get("service", {})
    assert envoy_gateway_values().get("topologyInjector", {}).get("enabled", True) is True


def test_no_webhook_no_rule():
    raw = variants.gcp_only("staging")
    raw["gpuinfra:serving"] = {**raw["gpuinfra:serving"], "enable_keda": False}
    raw["gpuinfra:serving"].pop("routing", None)  # no router: no Envoy Gateway and its topology-injector webhook
    for model in raw["gpuinfra:models"]:
        model.pop("canary", None)  # a canary needs the router
    raw["gpuinfra:monitoring"] = {**raw["gpuinfra:monitoring"], "provider": "gke-managed"}
    hooks = plan_of(raw).gcp.gke_webhooks
    assert hooks.ports == ()


def test_ports_outside_gkes_own_rule_are_planned(staging):
    planned = {str(p) for p in staging.plan.gcp.gke_webhooks.ports}
    assert KEDA_PORTS - GKE_DEFAULT_MASTER_PORTS <= planned
