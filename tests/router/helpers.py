"""Router test helpers: specs from committed stacks with routing changes, rendered-manifest selection."""
from __future__ import annotations

import copy

from components.spec import StackSpec
from components.spec.load import load_stack_spec
from tests.conftest import encode, raw_stack

ROUTER_LABEL = ("app.kubernetes.io/part-of", "gpuinfra-router")


def raw_variant(stack: str = "prod", routing: dict | None = None, models: dict | None = None,
                secrets: tuple[str, ...] = ()) -> dict:
    """A committed stack's raw config with ``serving.routing`` keys replaced and per-model fields merged.

    Args:
        stack: Committed stack name.
        routing: Keys replacing those of ``serving.routing``.
        models: Model name -> fields merged into that model (e.g. a canary).
        secrets: Secret keys (without namespace) set as ``secure:`` values.
    """
    raw = copy.deepcopy(raw_stack(stack))
    serving = raw.setdefault("gpuinfra:serving", {})
    serving["routing"] = {**serving.get("routing", {}), **(routing or {})}
    for model in raw["gpuinfra:models"]:
        model.update((models or {}).get(model["name"], {}))
    for key in secrets:
        raw[f"gpuinfra:{key}"] = {"secure": "set-by-pulumi-config"}
    return raw


def spec_of(raw: dict) -> StackSpec:
    """Load, check and plan a raw config as the program does (raises ConfigError); returns the spec."""
    from components.plan.stack import plan_stack  # noqa: PLC0415

    config, secret_keys = encode(raw)
    spec = load_stack_spec(config, secret_keys)
    plan_stack(spec)
    return spec


def is_router_doc(doc: dict) -> bool:
    """A rendered object the router created (every one carries the router's part-of label)."""
    return (doc.get("metadata", {}).get("labels") or {}).get(ROUTER_LABEL[0]) == ROUTER_LABEL[1]

#: Custom resources the router renders: required fields per (apiVersion, kind), from the CRDs of Envoy Gateway
#: v1.9 and Gateway API v1 (kubernetes-validate ships only built-in schemas). tests/k8s/test_rendered.py can
#: merge this into its CRD_REQUIRED.
ROUTER_CRD_REQUIRED = {
    ("gateway.networking.k8s.io/v1", "GatewayClass"): ("spec.controllerName",),
    ("gateway.networking.k8s.io/v1", "Gateway"): ("spec.gatewayClassName", "spec.listeners"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): ("spec.parentRefs", "spec.rules"),
    ("gateway.envoyproxy.io/v1alpha1", "EnvoyProxy"): ("spec.provider.type",),
    ("gateway.envoyproxy.io/v1alpha1", "ClientTrafficPolicy"): ("spec.targetRefs",),
    ("gateway.envoyproxy.io/v1alpha1", "SecurityPolicy"): ("spec.targetRefs", "spec.apiKeyAuth.credentialRefs",
                                                           "spec.apiKeyAuth.extractFrom"),
    ("gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy"): ("spec.targetRefs", "spec.rateLimit.local.rules"),
    ("gateway.envoyproxy.io/v1alpha1", "EnvoyExtensionPolicy"): ("spec.targetRefs", "spec.extProc", "spec.lua"),
    ("gateway.envoyproxy.io/v1alpha1", "HTTPRouteFilter"): ("spec",),
    ("monitoring.coreos.com/v1", "PodMonitor"): ("spec.selector", "spec.podMetricsEndpoints"),
    ("monitoring.googleapis.com/v1", "PodMonitoring"): ("spec.selector", "spec.endpoints"),
    ("cloud.google.com/v1", "BackendConfig"): ("spec.healthCheck.port", "spec.healthCheck.requestPath"),
}
#: Cluster-scoped kinds among them (no namespace).
CLUSTER_SCOPED = {"GatewayClass", "Namespace"}
