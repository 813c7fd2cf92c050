"""Envoy's route-based filter chain over the rendered routes: the upstream vLLM key is injected on every routed request.

Upstream behaviour modelled here (read at the pinned lines; both Apache-2.0):
- Envoy Gateway release/v1.9 (gateway-helm v1.9.3 is pinned; this branch is the newest v1.9 history mirrored):
  internal/xds/translator/credentialInjector.go renders one listener-level credential_injector filter per
  HTTPRouteFilter (named from irConfigName: kind/namespace/name) with ``Disabled: true`` and enables it only on
  the routes whose rules reference that filter (patchRoute -> enableFilterOnRoute); httpfilters.go
  newOrderedHTTPFilter runs api-key auth (7), Lua (13+), ext_proc (100+) and then the injector (307).
- Envoy source/common/http/filter_manager.cc ``FilterManager::createFilterChain``: the chain is built once per
  stream (``created_filter_chain_``) with ``FilterChainOptionsImpl(streamInfo().route())``, the route matched on
  the request as received; source/common/http/filter_chain_helper.cc ``createFilterChainForFactories`` skips a
  filter when ``options.filterDisabled(name).value_or(disabled)``. A later route-cache clear (Lua header change,
  ext_proc header mutation) re-matches the route for the router filter only; the chain is never rebuilt.
  (envoyproxy/envoy main as stored here, commit 00e00299; the pinned Envoy 1.39 tag is too large to mirror.)
- Gateway API v1 HTTPRoute: a match needs every header match; among matching rules the most specific wins
  (path, then method, then the number of header matches); ``RegularExpression`` values match the whole value.
"""
from __future__ import annotations

import re

import pytest

from components.k8s.manifests import router as m
from components.k8s.manifests import router_routes as r
from components.k8s.manifests.names import MODEL_HEADER
from components.plan.kubernetes_plan import plan_gateway
from components.plan.routing import DEFAULT_CLIENT, NO_USER, ROUTER_ALIAS, canary_bucket, plan_routes
from tests.router.helpers import raw_variant, spec_of

def _variants():
    yield "prod", spec_of(raw_variant("prod"))
    yield "canary+override", spec_of(raw_variant(
        "prod", routing={"clients": ["acme", "qa"], "internal_clients": ["qa"]},
        models={"llama-8b": {"canary": {"revision": "abc123", "percent": 10}, "replicas": {"min": 1, "max": 3}}},
        secrets=("router_api_keys",)))


VARIANTS = list(_variants())


def _matches(match: dict, headers: dict[str, str], method: str) -> bool:
    if match.get("method") and match["method"] != method:
        return False
    for want in match.get("headers", []):
        got = headers.get(want["name"].lower())
        if got is None:
            return False
        if want["type"] == "Exact" and got != want["value"]:
            return False
        if want["type"] == "RegularExpression" and not re.fullmatch(want["value"], got):
            return False
    return True


def route_for(routes: dict[str, dict], headers: dict[str, str], method: str = "POST") -> tuple[str, dict] | None:
    """The (route name, rule) Gateway API precedence picks for a request, or None."""
    best = None
    for name in sorted(routes):  # ties: alphabetical by name (same creation time), then rule order
        for rule in routes[name]["spec"]["rules"]:
            for match in rule["matches"]:
                if not _matches(match, headers, method):
                    continue
                key = (len(match["path"]["value"]), bool(match.get("method")), len(match.get("headers", [])))
                if best is None or key > best[0]:
                    best = (key, name, rule)
    return None if best is None else (best[1], best[2])


def injectors_enabled(rule: dict, filters: dict[str, dict]) -> set[str]:
    """Credential-injection HTTPRouteFilters a rule references: each is one listener filter enabled on its route."""
    refs = [f["extensionRef"]["name"] for f in rule.get("filters", []) if f["type"] == "ExtensionRef"]
    return {name for name in refs if "credentialInjection" in filters[name]["spec"]}


def _requests(spec, routes):
    """Client requests (headers as sent, body model, client) for every rule of the cluster, with and without users."""
    routing = spec.serving.routing
    for rule in routes.rules:
        for user in ("", "user-7", "user-42", "user-1001"):
            users = {routing.user_header: user} if user else {}
            if rule.kind == "model":
                yield users, rule.model, DEFAULT_CLIENT
            elif rule.kind == "tier":
                yield from (({**users, routing.tier_header: v}, ROUTER_ALIAS, DEFAULT_CLIENT) for v in rule.values)
            elif rule.kind == "default":
                yield users, ROUTER_ALIAS, DEFAULT_CLIENT
            else:
                yield from (({**users, routing.override_header: rule.model}, ROUTER_ALIAS, c) for c in rule.values)


def _after_filters(spec, sent: dict[str, str], body_model: str, client: str) -> tuple[dict, dict]:
    """Headers at the first route match (after ClientTrafficPolicy's early removal) and at the final one."""
    routing = spec.serving.routing
    removed = {h.lower() for h in m.client_traffic_policy(routing.client_header)["spec"]["headers"][
        "earlyRequestHeaders"]["remove"]}
    # Spoofed derived headers arrive too; early removal strips them before the first match.
    forged = {MODEL_HEADER: "llama-70b", routing.client_header: "qa", m.BUCKET_HEADER: "00"}
    first = {k.lower(): v for k, v in {**forged, **sent, "authorization": "Bearer sk-client"}.items()
             if k.lower() not in removed}
    user = first.get(routing.user_header.lower(), "")
    bucket = f"{canary_bucket(user):02d}" if user else NO_USER
    final = {**{k: v for k, v in first.items() if k != "authorization"},  # apiKeyAuth sanitize
             routing.client_header.lower(): client, m.BUCKET_HEADER: bucket, MODEL_HEADER.lower(): body_model}
    return first, final


@pytest.mark.parametrize(("label", "spec"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_the_filter_chain_from_the_first_route_injects_the_upstream_key(label, spec):
    gateway, namespace = plan_gateway(spec), spec.serving.namespace
    filters = {d["metadata"]["name"]: d for d in (r.upstream_key_filter(namespace), r.no_route_filter(namespace, ()))}
    for routes in plan_routes(spec):
        rendered = r.http_routes(routes, gateway, namespace)
        checked = 0
        for sent, body_model, client in _requests(spec, routes):
            first_headers, final_headers = _after_filters(spec, sent, body_model, client)
            first, final = route_for(rendered, first_headers), route_for(rendered, final_headers)
            assert first is not None and final is not None
            assert final[1].get("backendRefs"), f"{label}: {sent} model={body_model} reached no model"
            chain = injectors_enabled(first[1], filters)  # built once, from the first route
            assert chain, (f"{label}/{routes.cluster}: first route {first[0]} enables no credential injector, "
                           f"so {final[0]} reaches vLLM without its key")
            assert injectors_enabled(final[1], filters) <= chain
            checked += 1
        assert checked >= len(routes.rules) * 4

