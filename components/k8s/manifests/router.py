"""The model router's gateway (Envoy Gateway + body-based router): Helm values and policy objects (pure dicts)."""
from __future__ import annotations

from components.catalog.vocab import GCP, Cloud
from components.k8s.manifests.access import AWS_NLB, AWS_TLS_POLICY
from components.k8s.manifests.names import GATEWAY, MODEL_HEADER, PART_OF, ROUTER_PART_OF
from components.plan.routing import BUCKET_HEADER
from components.plan.serving_layer import ExposurePlan

NAMESPACE = GATEWAY["namespace"]
GATEWAY_NAME = GATEWAY["name"]
GATEWAY_CLASS = "gpuinfra"
ENVOY_PROXY = "gpuinfra"
#: Envoy's Service (named, so the GKE Ingress and the README can point at it).
ENVOY_SERVICE = "gpuinfra-gateway"
EG_NAMESPACE = "envoy-gateway-system"
EG_API = "gateway.envoyproxy.io/v1alpha1"
GW_API = "gateway.networking.k8s.io/v1"
#: Body-based router (Gateway API Inference Extension): ext_proc gRPC port of its Service (chart default).
BBR_NAME, BBR_PORT = "body-based-router", 9004
#: Header BBR also sets (base model of a LoRA adapter); stripped from client requests like MODEL_HEADER.
BASE_MODEL_HEADER = "X-Gateway-Base-Model-Name"
LISTENER_PORT = 80
KEYS_SECRET = "gpuinfra-router-api-keys"
ENVOY_REPLICAS = 2
#: Envoy's admin/stats listener in Envoy Gateway proxy pods (container port "metrics", /stats/prometheus).
METRICS_PORT_NAME, METRICS_PATH = "metrics", "/stats/prometheus"
PROXY_LABELS = {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy",
                "gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME}
LABELS = {PART_OF: ROUTER_PART_OF, "app.kubernetes.io/managed-by": "pulumi"}
#: Labels we add to Envoy's pods. Envoy Gateway copies them over its own app labels (name, component,
#: managed-by=envoy-gateway) that the proxy Deployment's selector requires, so they must not name any of those
#: (envoyproxy/gateway release/v1.9 internal/infrastructure/kubernetes/proxy: resource.go EnvoyAppLabel,
#: resource_provider.go getPodLabels/envoyLabels); part-of is what the serving NetworkPolicy admits.
PROXY_POD_LABELS = {PART_OF: ROUTER_PART_OF}
#: Envoy's readiness listener in Envoy Gateway proxy pods (container port "readiness"; envoyproxy/gateway
#: release/v1.9 internal/xds/bootstrap/bootstrap.go EnvoyReadinessPort/EnvoyReadinessPath). It answers without
#: an API key, unlike every path of the serving listener.
READINESS_PORT, READINESS_PATH = 19003, "/ready"
#: GKE BackendConfig that points the external Application Load Balancer's health check at that listener
#: (kubernetes/ingress-gce pkg/apis/backendconfig/v1/types.go HealthCheckConfig; with container-native load
#: balancing the port is the pod's containerPort - GKE docs "Ingress health checks").
BACKEND_CONFIG = "gpuinfra-gateway-health"
TARGET = [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY_NAME}]


def meta(name: str, namespace: str | None = NAMESPACE) -> dict:
    meta = {"name": name, "labels": dict(LABELS)}
    return meta | ({"namespace": namespace} if namespace else {})


def _object(api: str, kind: str, name: str, spec: dict, namespace: str | None = NAMESPACE) -> dict:
    return {"apiVersion": api, "kind": kind, "metadata": meta(name, namespace), "spec": spec}


def envoy_gateway_values() -> dict:
    """Envoy Gateway: proxies in the Gateway's namespace (so the serving NetworkPolicy's namespace selector
    admits them) and Lua extensions on (disabled by default since v1.9, release notes v1.9.0)."""
    return {"config": {"envoyGateway": {
        "provider": {"type": "Kubernetes", "kubernetes": {"deploy": {"type": "GatewayNamespace"}}},
        "extensionApis": {"enableLua": True}}}}


def bbr_values() -> dict:
    """Body-based router, provider ``none`` (the chart's Istio/GKE glue is replaced by our EnvoyExtensionPolicy).

    Plain gRPC inside the namespace: Envoy Gateway would need a Backend with insecureSkipVerify for the
    chart's self-signed certificate, which authenticates nothing either.

    The chart renders each ``flags`` entry as two arguments, ``--<key>`` then ``"<value>"``
    (config/charts/body-based-routing/templates/bbr.yaml at v1.4.0), and pflag reads a bare bool flag as true
    (the following "false" becomes an ignored positional). So the key carries ``=false`` and the value repeats
    the same flag: the container gets ``--secure-serving=false --secure-serving=false``, nothing positional.
    """
    off = "secure-serving=false"
    return {"bbr": {"replicas": 2, "flags": {off: f"--{off}"}}}


def namespace() -> dict:
    """The router namespace; its label is what the serving namespace's NetworkPolicy admits."""
    return {"metadata": {"name": NAMESPACE, "labels": dict(LABELS)}}


def _service(serving: ExposurePlan, cloud: Cloud) -> dict:
    """Envoy's Service by exposure; TLS terminates on the cloud load balancer with ``tls_certificate``."""
    service: dict = {"name": ENVOY_SERVICE, "type": "ClusterIP"}
    if serving.exposure == "cluster-ip":
        return service
    if cloud == GCP:
        if serving.exposure == "public":  # the external Application Load Balancer (router_ingress) reaches it
            return service | {"annotations": {"cloud.google.com/neg": '{"ingress": true}',
                                              "cloud.google.com/backend-config": f'{{"default": "{BACKEND_CONFIG}"}}'}}
        return service | {"type": "LoadBalancer", "annotations": {"networking.gke.io/load-balancer-type": "Internal"}}
    scheme = "internal" if serving.exposure == "internal" else "internet-facing"
    annotations = {**AWS_NLB, "service.beta.kubernetes.io/aws-load-balancer-scheme": scheme}
    if serving.exposure == "public":
        annotations |= {"service.beta.kubernetes.io/aws-load-balancer-ssl-cert": serving.tls_certificate,
                        "service.beta.kubernetes.io/aws-load-balancer-ssl-ports": "443",
                        "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy": AWS_TLS_POLICY}
    return service | {"type": "LoadBalancer", "annotations": annotations}


def envoy_proxy(serving: ExposurePlan, cloud: Cloud) -> dict:
    """EnvoyProxy: replicas, the router label on proxy pods, the Service by exposure, Prometheus stats."""
    return _object(EG_API, "EnvoyProxy", ENVOY_PROXY, {
        "provider": {"type": "Kubernetes", "kubernetes": {
            "envoyDeployment": {"replicas": ENVOY_REPLICAS, "pod": {"labels": dict(PROXY_POD_LABELS)}},
            "envoyService": _service(serving, cloud)}},
        "telemetry": {"metrics": {"prometheus": {}}}})


def gateway_class() -> dict:
    """GatewayClass served by Envoy Gateway, parameterised by our EnvoyProxy (cluster-scoped)."""
    return _object(GW_API, "GatewayClass", GATEWAY_CLASS, {
        "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
        "parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": ENVOY_PROXY,
                          "namespace": NAMESPACE}}, namespace=None)


def gateway(serving_namespace: str) -> dict:
    """The one OpenAI-compatible endpoint; routes are admitted only from the serving namespace."""
    allowed = {"namespaces": {"from": "Selector", "selector": {"matchLabels": {
        "kubernetes.io/metadata.name": serving_namespace}}}}
    return _object(GW_API, "Gateway", GATEWAY_NAME, {"gatewayClassName": GATEWAY_CLASS, "listeners": [
        {"name": "http", "protocol": "HTTP", "port": LISTENER_PORT, "allowedRoutes": allowed}]})


def client_traffic_policy(client_header: str) -> dict:
    """Strip every header the gateway derives (client id, model, canary bucket) before any filter or route
    match, so callers cannot forge an internal identity or pick a canary bucket."""
    remove = [client_header, MODEL_HEADER, BASE_MODEL_HEADER, BUCKET_HEADER]
    return _object(EG_API, "ClientTrafficPolicy", "gpuinfra-router", {
        "targetRefs": TARGET, "headers": {"earlyRequestHeaders": {"remove": remove}}})


def security_policy(client_header: str) -> dict:
    """API keys at the edge: ``Authorization: Bearer <key>`` (Envoy strips ``Bearer``), the client id
    forwarded in ``client_header``, the caller's key removed before the upstream sees the request."""
    return _object(EG_API, "SecurityPolicy", "gpuinfra-router", {"targetRefs": TARGET, "apiKeyAuth": {
        "credentialRefs": [{"group": "", "kind": "Secret", "name": KEYS_SECRET}],
        "extractFrom": [{"headers": ["Authorization"]}], "forwardClientIDHeader": client_header,
        "sanitize": True}})


def backend_traffic_policy(client_header: str, clients: list[str], per_minute: int | None) -> dict | None:
    """Per-client local rate limits (one bucket per client id per Envoy replica and route); None = unlimited.

    Local, not global: Envoy Gateway's global limit needs a Redis; local limits do not support ``Distinct``
    (Envoy Gateway docs, local rate limit, v1.9), hence one rule per known client id.
    """
    if per_minute is None:
        return None
    rules = [{"clientSelectors": [{"headers": [{"name": client_header, "type": "Exact", "value": c}]}],
              "limit": {"requests": per_minute, "unit": "Minute"}} for c in clients]
    return _object(EG_API, "BackendTrafficPolicy", "gpuinfra-router",
                   {"targetRefs": TARGET, "rateLimit": {"local": {"rules": rules}}})


def extension_policy(lua: str) -> dict:
    """BBR as ext_proc (copies the body's ``model`` into MODEL_HEADER and clears the route cache) and the
    canary-bucket Lua filter; both run before the final route match."""
    ext_proc = {"backendRefs": [{"name": BBR_NAME, "port": BBR_PORT}], "failOpen": False,
                "processingMode": {"request": {"body": "FullDuplexStreamed"}}}
    return _object(EG_API, "EnvoyExtensionPolicy", "gpuinfra-router",
                   {"targetRefs": TARGET, "extProc": [ext_proc], "lua": [{"type": "Inline", "inline": lua}]})


def pod_monitor(labels: dict[str, str]) -> dict:
    """prometheus-operator PodMonitor for Envoy's request stats (per route and upstream cluster = model and
    revision); Envoy Gateway's proxy Service does not expose the stats port, so a ServiceMonitor cannot."""
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
            "metadata": {**meta("gpuinfra-router"), "labels": {**LABELS, **labels}},
            "spec": {"selector": {"matchLabels": dict(PROXY_LABELS)},
                     "podMetricsEndpoints": [{"port": METRICS_PORT_NAME, "path": METRICS_PATH, "interval": "15s"}]}}


def pod_monitoring() -> dict:
    """Google Cloud Managed Service for Prometheus PodMonitoring for the same stats."""
    return _object("monitoring.googleapis.com/v1", "PodMonitoring", "gpuinfra-router", {
        "selector": {"matchLabels": dict(PROXY_LABELS)},
        "endpoints": [{"port": METRICS_PORT_NAME, "path": METRICS_PATH, "interval": "15s"}]})


def router_ingress(serving: ExposurePlan) -> dict | None:
    """GKE public exposure: external Application Load Balancer with the Google-managed certificate."""
    if serving.exposure != "public":
        return None
    return {"metadata": {**meta(ENVOY_SERVICE), "annotations": {
                "ingress.gcp.kubernetes.io/pre-shared-cert": serving.tls_certificate,
                "kubernetes.io/ingress.allow-http": "false"}},
            "spec": {"ingressClassName": "gce", "rules": [{"host": serving.public_hostname, "http": {"paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": ENVOY_SERVICE, "port": {"number": LISTENER_PORT}}}}]}}]}}



def backend_config() -> dict:
    """GKE public exposure: the load balancer's health check asks Envoy's readiness listener, not ``GET /`` on
    the serving port (which the API-key check answers with 401, so every backend would stay unhealthy)."""
    return {"apiVersion": "cloud.google.com/v1", "kind": "BackendConfig", "metadata": meta(BACKEND_CONFIG),
            "spec": {"healthCheck": {"type": "HTTP", "port": READINESS_PORT, "requestPath": READINESS_PATH,
                                     "checkIntervalSec": 10, "timeoutSec": 5}}}
