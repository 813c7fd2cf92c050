"""Every rendered custom resource validates against its CRD's openAPIV3Schema at the pinned chart/release
(vendored under tests/upstream/crds/, sources in tests/upstream/SOURCE.md), unknown fields refused."""
from __future__ import annotations

import copy

import pytest

from tests.upstream.schemas import crd, errors

BUILT_IN = ("v1", "apps/v1", "policy/v1", "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1", "batch/v1",
            "autoscaling/v2", "scheduling.k8s.io/v1", "storage.k8s.io/v1")
#: Kinds the issue names; each must appear in at least one planned variant (so the check is never vacuous).
EXPECTED_KINDS = {"ScaledObject", "ServiceMonitor", "PodMonitor", "PrometheusRule", "GatewayClass", "Gateway",
                  "HTTPRoute", "HTTPRouteFilter", "EnvoyProxy", "ClientTrafficPolicy", "SecurityPolicy",
                  "BackendTrafficPolicy", "EnvoyExtensionPolicy", "PodMonitoring", "ClusterRules", "BackendConfig",
                  "ComputeClass"}


def custom_resources(rendered) -> list[tuple[str, str, dict]]:
    return [(r.label, p.name, doc) for r in rendered.values() for p, doc in r.objects
            if doc["apiVersion"] not in BUILT_IN]


def test_every_custom_resource_matches_its_crd(rendered):
    failures = []
    for label, name, doc in custom_resources(rendered):
        failures += [f"{label}/{name}: {e}" for e in errors(doc)]
    assert not failures, "\n".join(failures)


def test_the_check_covers_every_kind_the_program_renders(rendered):
    kinds = {doc["kind"] for _, _, doc in custom_resources(rendered)}
    assert EXPECTED_KINDS <= kinds, f"not rendered by any variant: {sorted(EXPECTED_KINDS - kinds)}"


def _first(rendered, kind: str) -> dict:
    return copy.deepcopy(next(doc for _, _, doc in custom_resources(rendered) if doc["kind"] == kind))


@pytest.mark.parametrize("kind, path, misspelt", [
    ("ScaledObject", ("spec",), "minReplicas"),             # minReplicaCount
    ("ServiceMonitor", ("spec",), "endpoint"),              # endpoints
    ("EnvoyProxy", ("spec", "provider", "kubernetes", "envoyDeployment"), "replica"),
    ("SecurityPolicy", ("spec", "apiKeyAuth"), "credentialRef"),
    ("HTTPRoute", ("spec",), "rule"),
    ("PrometheusRule", ("spec", "groups", 0), "rule"),
    ("BackendConfig", ("spec", "healthCheck"), "path"),     # requestPath
    ("PodMonitoring", ("spec",), "endpoint"),
    ("ComputeClass", ("spec", "activeMigration"), "optimizeRulePriorty"),  # optimizeRulePriority
    ("ComputeClass", ("spec", "priorities", 0), "nodePools"),               # nodepools
])
def test_a_misspelt_field_is_refused(rendered, kind, path, misspelt):
    doc = _first(rendered, kind)
    node = doc
    for key in path:
        node = node[key]
    node[misspelt] = node.get(misspelt, 1)
    found = errors(doc)
    assert any(misspelt in e and "Additional properties" in e for e in found), found


def test_preserve_unknown_fields_stay_open():
    """Where the CRD keeps unknown fields (KEDA trigger metadata is a free map), any key is allowed."""
    _, schema = crd("keda.sh/v1alpha1", "ScaledObject")
    trigger = schema["properties"]["spec"]["properties"]["triggers"]["items"]["properties"]["metadata"]
    assert trigger.get("additionalProperties") is not False


def test_envoy_proxy_pod_labels_leave_envoy_gateways_selector_labels_alone(rendered):
    """Envoy Gateway copies EnvoyProxy pod labels over its own app labels, which its proxy Deployment's selector
    requires (envoyproxy/gateway release/v1.9 internal/infrastructure/kubernetes/proxy/resource.go
    EnvoyAppLabel; resource_provider.go getPodLabels). Overriding one makes the API server reject the Deployment."""
    selector_keys = {"app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/managed-by",
                     "gateway.envoyproxy.io/owning-gateway-name", "gateway.envoyproxy.io/owning-gateway-namespace"}
    proxies = [doc for _, _, doc in custom_resources(rendered) if doc["kind"] == "EnvoyProxy"]
    assert proxies
    for doc in proxies:
        labels = doc["spec"]["provider"]["kubernetes"]["envoyDeployment"]["pod"].get("labels", {})
        assert not selector_keys & set(labels), labels


def test_compute_class_priorities_hold_only_node_pools(rendered):
    """The ComputeClass CRD's CEL rule on each priority, ``has(self.nodepools) ? (size(dyn(self)) == 1) : true``
    ("Nodepool field cannot be set along with other fields"; the schema check does not evaluate CEL): a priority
    naming node pools may hold nothing else, and every rendered priority names exactly one of the stack's pools."""
    _, schema = crd("cloud.google.com/v1", "ComputeClass")
    priority = schema["properties"]["spec"]["properties"]["priorities"]["items"]
    assert "nodepools" in priority["properties"]
    classes = [doc for _, _, doc in custom_resources(rendered) if doc["kind"] == "ComputeClass"]
    assert classes
    for doc in classes:
        for rule in doc["spec"]["priorities"]:
            assert set(rule) == {"nodepools"} and len(rule["nodepools"]) == 1, rule
