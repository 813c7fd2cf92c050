"""The router's HTTPRoutes, route filters and canary Lua script from a cluster's routing plan (pure dicts)."""
from __future__ import annotations

from components.k8s.manifests.names import MODEL_HEADER, SERVING_PORT, workload_name
from components.k8s.manifests.router import BUCKET_HEADER, EG_API, GATEWAY, GW_API, LABELS
from components.plan.routing import BUCKETS, NO_USER, ROUTER_ALIAS, ClusterRoutes, RouteRule, bucket_pattern
from components.plan.kubernetes_plan import GatewayPlan

UPSTREAM_SECRET = "gpuinfra-router-upstream"
UPSTREAM_FILTER = "gpuinfra-router-upstream-key"
NO_ROUTE_FILTER = "gpuinfra-router-no-route"
FALLBACK_ROUTE = "gpuinfra-router-fallback"
#: Long completions stream for minutes; Envoy's default route timeout (15 s) would cut them.
REQUEST_TIMEOUT = "600s"
PARENT = [dict(GATEWAY)]
ROOT_PATH = {"type": "PathPrefix", "value": "/"}
#: Response headers naming the rule that routed a request, its model and revision: what scripts/smoke.py checks
#: against the plan (a Gateway API core ResponseHeaderModifier filter, no effect on the request).
ROUTED_MODEL_HEADER, ROUTED_REVISION_HEADER, ROUTED_RULE_HEADER = "x-gpuinfra-model", "x-gpuinfra-revision", "x-gpuinfra-rule"

#: FNV-1a (32-bit) of the user id header modulo 100, in plain Lua 5.1 arithmetic (no ``bit`` module:
#: XOR byte-wise, the multiply by 16777619 = 403 + 2^24 split so every product stays exact in a double).
#: Same function as components.plan.routing.canary_bucket (tests run both on the same ids).
LUA_TEMPLATE = """-- gpuinfra canary bucket: FNV-1a 32 of the user id, modulo {buckets}; "{no_user}" without one.
local USER_HEADER = "{user_header}"
local BUCKET_HEADER = "{bucket_header}"

local function xor8(x, y)
  local r, p = 0, 1
  for _ = 1, 8 do
    local a, b = x % 2, y % 2
    if a ~= b then r = r + p end
    x, y, p = (x - a) / 2, (y - b) / 2, p * 2
  end
  return r
end

local function fnv1a(s)
  local h = 2166136261
  for i = 1, #s do
    local low = h % 256
    h = h - low + xor8(low, s:byte(i))
    h = (h * 403 + (h % 256) * 16777216) % 4294967296
  end
  return h
end

function envoy_on_request(handle)
  local user = handle:headers():get(USER_HEADER)
  local bucket = "{no_user}"
  if user ~= nil and user ~= "" then
    bucket = string.format("%02d", fnv1a(user) % {buckets})
  end
  -- Changing a request header clears Envoy's route cache: the route is matched again with the bucket.
  handle:headers():replace(BUCKET_HEADER, bucket)
end
"""


def canary_lua(user_header: str) -> str:
    """The Lua source the EnvoyExtensionPolicy runs on every request."""
    return LUA_TEMPLATE.format(user_header=user_header.lower(), bucket_header=BUCKET_HEADER, buckets=BUCKETS,
                               no_user=NO_USER)


def _header(name: str, value: str, regex: bool = False) -> dict:
    return {"type": "RegularExpression" if regex else "Exact", "name": name, "value": value}


def _matches(rule: RouteRule, routing: GatewayPlan, bucket: dict) -> list[dict]:
    """Match specificity encodes precedence (Gateway API: method before header count): override has a
    method; tier (3 headers) and model (2) exclude each other on the model header; default has 1."""
    if rule.kind == "override":
        return [{"path": ROOT_PATH, "method": "POST", "headers": [
            _header(routing.client_header, c), _header(routing.override_header, rule.model), bucket]}
            for c in rule.values]
    if rule.kind == "model":
        return [{"path": ROOT_PATH, "headers": [_header(MODEL_HEADER, rule.model), bucket]}]
    if rule.kind == "tier":
        return [{"path": ROOT_PATH, "headers": [_header(MODEL_HEADER, ROUTER_ALIAS),
                                                 _header(routing.tier_header, v), bucket]} for v in rule.values]
    return [{"path": ROOT_PATH, "headers": [bucket]}]


def _variants(rule: RouteRule) -> list[tuple[bool, str]]:
    """(canary, bucket pattern) pairs: users below the percent get the canary; no user id -> stable."""
    p = rule.canary_percent
    out = [(False, bucket_pattern(p, BUCKETS, no_user=True))] if p < BUCKETS else []
    return out + ([(True, bucket_pattern(0, p, no_user=p == BUCKETS))] if p > 0 else [])


def _extension(name: str) -> dict:
    return {"type": "ExtensionRef", "extensionRef": {"group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter",
                                                     "name": name}}


def route_rules(rule: RouteRule, routing: GatewayPlan) -> list[dict]:
    """HTTPRoute rules of one routing rule: a stable and/or a canary variant, each to the model's Services."""
    out = []
    for canary, pattern in _variants(rule):
        backends = [{"name": workload_name(rule.model, pool, canary), "port": SERVING_PORT, "weight": 1}
                    for pool in rule.pools]
        routed = {"type": "ResponseHeaderModifier", "responseHeaderModifier": {"set": [
            {"name": ROUTED_MODEL_HEADER, "value": rule.model},
            {"name": ROUTED_REVISION_HEADER, "value": "canary" if canary else "stable"},
            {"name": ROUTED_RULE_HEADER, "value": rule.kind}]}}
        out.append({"matches": _matches(rule, routing, _header(BUCKET_HEADER, pattern, regex=True)),
                    "filters": [_extension(UPSTREAM_FILTER), routed], "backendRefs": backends,
                    "timeouts": {"request": REQUEST_TIMEOUT}})
    return out


def http_routes(routes: ClusterRoutes, routing: GatewayPlan, namespace: str) -> dict[str, dict]:
    """One HTTPRoute per target model (at most 8 rules, under the API's 16) plus the fallback route.

    Returns:
        Route name -> HTTPRoute, in the serving namespace (same namespace as the Services: no ReferenceGrant).
    """
    by_model: dict[str, list[dict]] = {}
    for rule in routes.rules:
        by_model.setdefault(rule.model, []).extend(route_rules(rule, routing))
    out = {f"gpuinfra-router-{model}": _route(f"gpuinfra-router-{model}", namespace, rules)
           for model, rules in by_model.items()}
    # No header match: the route Envoy picks before BBR and Lua run, and the answer when nothing else matches.
    # Envoy builds a stream's filter chain once, from that first route (envoyproxy/envoy
    # source/common/http/filter_manager.cc FilterManager::createFilterChain; filter_chain_helper.cc skips a
    # filter the route leaves disabled), and re-matching after BBR/Lua clear the route cache never rebuilds it.
    # Envoy Gateway renders credential injection disabled in the listener and enables it per route
    # (envoyproxy/gateway release/v1.9 internal/xds/translator/credentialInjector.go), so the fallback route
    # must carry the upstream-key filter too, or vLLM never receives its key.
    fallback = [{"matches": [{"path": ROOT_PATH}],
                 "filters": [_extension(UPSTREAM_FILTER), _extension(NO_ROUTE_FILTER)]}]
    out[FALLBACK_ROUTE] = _route(FALLBACK_ROUTE, namespace, fallback)
    return out


def _route(name: str, namespace: str, rules: list[dict]) -> dict:
    return {"apiVersion": GW_API, "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(LABELS)},
            "spec": {"parentRefs": PARENT, "rules": rules}}


def upstream_key_filter(namespace: str) -> dict:
    """Injects ``Authorization: Bearer <vLLM key>`` (Secret ``credential``) into every upstream request."""
    return {"apiVersion": EG_API, "kind": "HTTPRouteFilter",
            "metadata": {"name": UPSTREAM_FILTER, "namespace": namespace, "labels": dict(LABELS)},
            "spec": {"credentialInjection": {"header": "Authorization", "overwrite": True,
                                             "credential": {"valueRef": {"name": UPSTREAM_SECRET}}}}}


def no_route_filter(namespace: str, models: tuple[str, ...]) -> dict:
    """OpenAI-style 404 naming the models this cluster's router serves."""
    body = ('{"error": {"type": "invalid_request_error", "code": "model_not_found", "message": '
            f'"no route: send model {ROUTER_ALIAS} or one of {", ".join(models)}"}}}}')
    return {"apiVersion": EG_API, "kind": "HTTPRouteFilter",
            "metadata": {"name": NO_ROUTE_FILTER, "namespace": namespace, "labels": dict(LABELS)},
            "spec": {"directResponse": {"contentType": "application/json", "statusCode": 404,
                                        "body": {"type": "Inline", "inline": body}}}}
