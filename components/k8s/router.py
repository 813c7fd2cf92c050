"""ModelRouter: one OpenAI-compatible endpoint per cluster (Envoy Gateway + body-based router) in front of its VllmServices."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.catalog.versions import chart
from components.catalog.vocab import GCP
from components.k8s.manifests import router as m
from components.k8s.manifests import router_routes as r
from components.k8s.target import ClusterTarget
from components.plan.kubernetes_plan import GatewayPlan
from components.plan.routing import DEFAULT_CLIENT, ClusterRoutes
from components.plan.serving_layer import ServingLayerPlan
from components.secrets import vllm_api_key

TOKEN = "gpuinfra:k8s:ModelRouter"
KEYS_CONFIG = "router_api_keys"


def router_client_keys() -> pulumi.Output[str] | None:
    """``gpuinfra:router_api_keys``: a JSON object ``{"<client>": "<key>"}`` (a Pulumi secret), or None."""
    return pulumi.Config("gpuinfra").get_secret(KEYS_CONFIG)


def client_keys(default_key: str, raw: str | None, clients: list[str]) -> dict[str, str]:
    """Client id -> API key for the gateway's credentials Secret (runs inside ``apply``: values are secret).

    Raises:
        ValueError: the secret is not a JSON object, or lacks a key for a client of ``serving.routing.clients``.
    """
    keys = {}
    if clients:
        try:
            keys = json.loads(raw or "")
        except json.JSONDecodeError as exc:
            raise ValueError(f"gpuinfra:{KEYS_CONFIG} must be a JSON object {{client: key}}") from exc
        missing = [c for c in clients if not isinstance(keys, dict) or not keys.get(c)]
        if missing:
            raise ValueError(f"gpuinfra:{KEYS_CONFIG} has no key for client(s) {', '.join(missing)} "
                             "(listed in gpuinfra:serving.routing.clients)")
    return {DEFAULT_CLIENT: default_key, **{c: keys[c] for c in clients}}


@dataclass(frozen=True)
class ModelRouterArgs:
    """Inputs of one cluster's router: slices of the cluster's plan (``KubernetesClusterPlan``)."""

    target: ClusterTarget
    routes: ClusterRoutes
    gateway: GatewayPlan
    layer: ServingLayerPlan
    """The cluster's serving layer: the serving namespace and the exposure the router's Service takes."""
    services: list[Any] = field(default_factory=list)
    """The cluster's VllmServices (routes depend on them: their Services exist first)."""
    monitoring: Any = None
    """The cluster's GpuMonitoring (``operator``, ``service_monitor_labels``, ``managed``) or None."""


class ModelRouter(pulumi.ComponentResource):
    """Envoy Gateway, BBR, Gateway + policies, HTTPRoutes per model, keys Secrets and the stats scrape."""

    endpoint: str
    """In-cluster URL of the OpenAI-compatible endpoint (``/v1/chat/completions`` etc.)."""

    def __init__(self, name: str, args: ModelRouterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, {}, opts)
        self._name, self._args = name, args
        self._gateway, self._layer = args.gateway, args.layer
        self.endpoint = f"http://{m.ENVOY_SERVICE}.{m.NAMESPACE}.svc.cluster.local:{m.LISTENER_PORT}"
        namespace = self._create_namespace()
        gateway = self._create_envoy_gateway()
        bbr = self._release("bbr", "body-based-routing", m.BBR_NAME, m.NAMESPACE, m.bbr_values(), namespace)
        keys = self._create_keys_secrets(namespace)
        gw = self._create_gateway(gateway, namespace)
        self._create_policies(gw, bbr, keys)
        self._create_routes(gw, keys)
        self._create_scrape(gw)
        self.register_outputs({"endpoint": self.endpoint})

    def _opts(self, *depends_on: pulumi.Resource | None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=[d for d in depends_on if d is not None])

    def _create_namespace(self) -> k8s.core.v1.Namespace:
        return k8s.core.v1.Namespace(f"{self._name}-namespace", metadata=m.namespace()["metadata"], opts=self._opts())

    def _release(self, role: str, key: str, release: str, namespace: str, values: dict,
                 *deps: pulumi.Resource) -> k8s.helm.v3.Release:
        pinned = chart(key)  # OCI chart: the full reference is the chart, no repository options
        return k8s.helm.v3.Release(
            f"{self._name}-{role}", name=release, chart=f"{pinned.repo}/{pinned.chart}", version=pinned.version,
            namespace=namespace, create_namespace=namespace != m.NAMESPACE, atomic=True, values=values,
            opts=self._opts(*self._args.target.ready, *deps))

    def _create_envoy_gateway(self) -> k8s.helm.v3.Release:
        # The chart's crds/ (Gateway API + Envoy Gateway) install before its templates and before any
        # object below, which all depend on this release.
        return self._release("envoy-gateway", "envoy-gateway", "eg", m.EG_NAMESPACE, m.envoy_gateway_values())

    def _create_keys_secrets(self, namespace: pulumi.Resource) -> list[pulumi.Resource]:
        # Values only as Pulumi secret Outputs: state encrypts them, manifests and the plan show [secret].
        raw = router_client_keys()
        clients = list(self._gateway.clients)
        keys = pulumi.Output.all(vllm_api_key(), raw if raw is not None else "").apply(
            lambda v: client_keys(v[0], v[1] or None, clients))
        api = k8s.core.v1.Secret(f"{self._name}-api-keys", metadata=m.meta(m.KEYS_SECRET), type="Opaque",
                                 string_data=pulumi.Output.secret(keys), opts=self._opts(namespace))
        credential = pulumi.Output.secret(vllm_api_key().apply(lambda key: f"Bearer {key}"))
        meta = {**m.meta(r.UPSTREAM_SECRET, self._layer.namespace)}
        upstream = k8s.core.v1.Secret(f"{self._name}-upstream-key", metadata=meta, type="Opaque",
                                      string_data={"credential": credential},
                                      opts=self._opts(*self._args.services))
        return [api, upstream]

    def _custom(self, role: str, doc: dict, *deps: pulumi.Resource | None) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            f"{self._name}-{role}", api_version=doc["apiVersion"], kind=doc["kind"], metadata=doc["metadata"],
            spec=doc["spec"], opts=self._opts(*deps))

    def _create_gateway(self, release: pulumi.Resource, namespace: pulumi.Resource) -> pulumi.Resource:
        cloud = self._args.target.cloud
        proxy = self._custom("envoy-proxy", m.envoy_proxy(self._layer.exposure, cloud), release, namespace)
        klass = self._custom("gateway-class", m.gateway_class(), release, proxy)
        gw = self._custom("gateway", m.gateway(self._layer.namespace), klass)
        ingress = m.router_ingress(self._layer.exposure) if cloud == GCP else None
        if ingress:
            self._custom("backend-config", m.backend_config(), release, namespace)
            k8s.networking.v1.Ingress(f"{self._name}-ingress", metadata=ingress["metadata"], spec=ingress["spec"],
                                      opts=self._opts(gw))
        return gw

    def _create_policies(self, gw: pulumi.Resource, bbr: pulumi.Resource, keys: list[pulumi.Resource]) -> None:
        header = self._gateway.client_header
        self._custom("client-traffic-policy", m.client_traffic_policy(header), gw)
        self._custom("security-policy", m.security_policy(header), gw, keys[0])
        limits = m.backend_traffic_policy(header, [DEFAULT_CLIENT, *self._gateway.clients],
                                          self._gateway.rate_limit_requests_per_minute)
        if limits:
            self._custom("backend-traffic-policy", limits, gw)
        self._custom("extension-policy", m.extension_policy(r.canary_lua(self._gateway.user_header)), gw, bbr)

    def _create_routes(self, gw: pulumi.Resource, keys: list[pulumi.Resource]) -> None:
        namespace, routes = self._layer.namespace, self._args.routes
        upstream = self._custom("upstream-key-filter", r.upstream_key_filter(namespace), gw, keys[1])
        no_route = self._custom("no-route-filter", r.no_route_filter(namespace, routes.models), gw)
        for name, doc in r.http_routes(routes, self._gateway, namespace).items():
            role = name.removeprefix("gpuinfra-router-")
            self._custom(f"route-{role}", doc, gw, upstream, no_route, *self._args.services)

    def _create_scrape(self, gw: pulumi.Resource) -> None:
        monitoring = self._args.monitoring
        if monitoring is None:
            return
        if monitoring.managed:
            self._custom("pod-monitoring", m.pod_monitoring(), gw)
        else:
            self._custom("pod-monitor", m.pod_monitor(monitoring.service_monitor_labels), gw, monitoring.operator)
