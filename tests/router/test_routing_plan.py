"""The routing table planner: rules per cluster, precedence, canary buckets (Python and the router's Lua)."""
from __future__ import annotations

import re

import pytest

from components.k8s.manifests.names import MODEL_HEADER
from components.k8s.manifests.router_routes import canary_lua
from components.plan.routing import (
    BUCKETS, KINDS, NO_USER, RESERVED_HEADERS, ROUTER_ALIAS, bucket_pattern, canary_bucket, fnv1a32, plan_routes,
    routing_rows, served_by_cluster,
)
from tests.router.helpers import raw_variant, spec_of

USERS = [f"user-{i}" for i in range(2000)] + ["", "ü-ñ", "a" * 300, "4f1c2b7e-8d3a-4c55-9e11-0b6a2f9d7c30"]


@pytest.fixture(scope="module")
def prod():
    return spec_of(raw_variant("prod"))


def test_every_cluster_routes_only_to_models_it_serves(prod):
    served = served_by_cluster(prod)
    routes = plan_routes(prod)
    assert [r.cluster for r in routes] == list(served)
    for r in routes:
        models = served[r.cluster][2]
        assert {rule.model for rule in r.rules} <= set(models)
        assert set(r.models) == set(models)
        for rule in r.rules:
            assert rule.pools == models[rule.model]
        # one model rule per served model; the default rule only where the default model is served
        assert sorted(rule.model for rule in r.rules if rule.kind == "model") == sorted(models)
        assert any(rule.kind == "default" for rule in r.rules) == (prod.serving.routing.default_model in models)


def test_rules_come_in_precedence_order(prod):
    for r in plan_routes(prod):
        ranks = [KINDS.index(rule.kind) for rule in r.rules]
        assert ranks == sorted(ranks)


def _rows(spec):
    return routing_rows(spec, plan_routes(spec))


def test_routing_rows_of_prod_list_each_tier_and_the_clusters_carrying_it(prod):
    rows = _rows(prod)
    routing = prod.serving.routing
    assert set(rows[0]) == {"priority", "match", "model", "canary", "clusters", "pools"}
    assert all(set(row) == set(rows[0]) for row in rows)  # the renderer takes columns from the first row
    tier_rows = [row for row in rows if routing.tier_header in row["match"]]
    assert len(tier_rows) == len(routing.tiers)
    for tier, row in zip(routing.tiers, tier_rows):
        assert tier.value in row["match"] and row["model"] == tier.model
        carrying = [c for c, (_, _, served) in served_by_cluster(prod).items() if tier.model in served]
        assert row["clusters"] == carrying
    assert [row["priority"] for row in rows] == sorted(row["priority"] for row in rows)


def test_routing_rows_are_empty_while_routing_is_disabled():
    assert _rows(spec_of(raw_variant("prod", routing={"enabled": False}))) == []


def test_override_rules_name_the_internal_clients_and_canary_percent_shows():
    spec = spec_of(raw_variant("prod", routing={"clients": ["acme", "qa"], "internal_clients": ["qa"]},
                               models={"llama-8b": {"canary": {"revision": "abc123", "percent": 10},
                                                    "replicas": {"min": 1, "max": 3}}},
                               secrets=("router_api_keys",)))
    rows = _rows(spec)
    override = [row for row in rows if row["priority"] == 1]
    assert {row["model"] for row in override} == {m.name for m in spec.models}
    assert all("[qa]" in row["match"] for row in override)
    assert {row["canary"] for row in rows if row["model"] == "llama-8b"} == {"10% -> abc123"}
    assert {row["canary"] for row in rows if row["model"] == "llama-70b"} == {"-"}


@pytest.mark.parametrize("data, expected", [
    (b"", 0x811C9DC5),       # FNV-1a offset basis
    (b"a", 0xE40C292C),      # published FNV-1a 32 test vectors
    (b"foobar", 0xBF9CF968),
])
def test_fnv1a32_matches_the_published_vectors(data, expected):
    assert fnv1a32(data) == expected


def test_buckets_are_stable_and_spread_evenly():
    counts = [0] * BUCKETS
    for user in USERS[:2000]:
        assert canary_bucket(user) == canary_bucket(user)
        counts[canary_bucket(user)] += 1
    share10 = sum(counts[:10]) / 2000
    assert 0.07 < share10 < 0.13  # a 10 % canary gets about 10 % of users


@pytest.mark.parametrize("no_user", [False, True])
def test_bucket_pattern_matches_exactly_the_range(no_user):
    values = [f"{b:02d}" for b in range(BUCKETS)] + [NO_USER, "100", "5", "x"]
    for low in range(BUCKETS + 1):
        for high in range(low, BUCKETS + 1):
            pattern = re.compile(bucket_pattern(low, high, no_user))
            got = {v for v in values if pattern.fullmatch(v)}
            want = {f"{b:02d}" for b in range(low, high)} | ({NO_USER} if no_user else set())
            assert got == want, (low, high, pattern.pattern)


def test_bucket_patterns_stay_small():
    # Envoy rejects RE2 programs above its program-size limit (default 100); alternations of 100 values would.
    assert max(len(bucket_pattern(lo, hi, True)) for lo in range(101) for hi in range(lo, 101)) < 40


def test_model_header_is_reserved():
    assert MODEL_HEADER.lower() in RESERVED_HEADERS and ROUTER_ALIAS == "auto"


@pytest.mark.parametrize("runtime", ["lua51", "luajit21"])
def test_router_lua_computes_the_same_buckets(runtime):
    """The Lua the gateway runs, executed (Lua 5.1 and LuaJIT as in Envoy) on the same ids as Python."""
    lupa = pytest.importorskip(f"lupa.{runtime}")
    lua = lupa.LuaRuntime()
    lua.execute(canary_lua("X-User-Id"))
    # A stand-in for Envoy's stream handle with the two header calls the script makes.
    run = lua.eval("""function(user)
      local values = {}
      if user ~= "" then values["x-user-id"] = user end
      local headers = {get = function(_, k) return values[k] end, replace = function(_, k, v) values[k] = v end}
      envoy_on_request({headers = function(_) return headers end})
      return values["x-gpuinfra-canary-bucket"]
    end""")
    for user in USERS:
        expected = NO_USER if not user else f"{canary_bucket(user):02d}"
        assert run(user) == expected, user
