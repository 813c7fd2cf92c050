"""ModelRouter under Pulumi mocks: one per serving cluster, CRDs before objects, routes to real Services,
keys only as secrets, per-client limits and canary/override routes; the prod router's config as a golden file."""
from __future__ import annotations

import json
import os

import pytest
import yaml

import components.k8s.router as router_module
from components.catalog.versions import chart
from components.plan.routing import BUCKET_HEADER, plan_routes, served_by_cluster
from components.preview.manifests import is_k8s_object, manifest
from tests.conftest import ROOT
from tests.k8s.helpers import KNOWN_SECRET, committed_run, depends_on_names, dump, run_fixture, with_secret
from tests.router.helpers import raw_variant, spec_of

GOLDEN = ROOT / "tests" / "golden" / "router" / "prod-us-east-1.yaml"
CLIENT_KEY = "sk-acme-client-0d9e8f7a6b5c4d3e"
ROUTER = "gpuinfra:k8s:ModelRouter"


@pytest.fixture(scope="module")
def prod_run():
    return committed_run("prod")


def children(run, router: str):
    return [r for r in run.resources if r.parent and r.parent["name"] == router]


def of_kind(records, kind: str):
    return [r for r in records if r.type.rsplit(":", 1)[-1] == kind or r.inputs.get("kind") == kind]


def test_one_router_per_cluster_that_serves_models(prod_run):
    spec = spec_of(raw_variant("prod"))
    routers = [r.name for r in prod_run.resources if r.type == ROUTER]
    assert sorted(routers) == sorted(f"{cluster}-router" for cluster in served_by_cluster(spec))


def test_charts_are_pinned_and_every_object_waits_for_the_crds(prod_run):
    for router in (r.name for r in prod_run.resources if r.type == ROUTER):
        records = children(prod_run, router)
        releases = {r.name.removeprefix(f"{router}-"): r for r in of_kind(records, "Release")}
        for role, key in (("envoy-gateway", "envoy-gateway"), ("bbr", "body-based-routing")):
            pinned = chart(key)
            assert releases[role].inputs["chart"] == f"{pinned.repo}/{pinned.chart}"
            assert releases[role].inputs["version"] == pinned.version
        graph = {r.name: depends_on_names(r) for r in records}
        eg = releases["envoy-gateway"].name

        def reaches(name, seen=()):
            return eg in graph.get(name, ()) or any(reaches(d, (*seen, name)) for d in graph.get(name, ())
                                                     if d not in seen)
        customs = [r for r in records if r.type == "kubernetes:apiextensions.k8s.io:CustomResource"
                   or "gateway" in r.type or "monitoring" in r.type]
        assert len(customs) >= 9
        for record in customs:
            assert reaches(record.name), f"{record.name} does not wait for the Envoy Gateway CRDs"


def test_routes_point_at_services_of_the_same_cluster(prod_run):
    spec = spec_of(raw_variant("prod"))
    for routes in plan_routes(spec):
        provider = f"{routes.cluster}-k8s"
        services = {r.inputs["metadata"]["name"] for r in prod_run.resources
                    if r.type == "kubernetes:core/v1:Service" and provider in str(r.options.get("provider", ""))}
        records = children(prod_run, f"{routes.cluster}-router")
        http_routes = [r for r in records if r.inputs.get("kind") == "HTTPRoute"]
        assert len(http_routes) == len(routes.models) + 1  # one per model + the fallback
        backends = {b["name"] for r in http_routes for rule in r.inputs["spec"]["rules"]
                    for b in rule.get("backendRefs", [])}
        assert backends and backends <= services


def test_no_key_value_in_any_input_or_output():
    run = run_fixture("prod", with_secret(raw_variant("prod")))
    text = dump(run)
    assert KNOWN_SECRET not in text
    secrets = [r for r in run.resources if r.type == "kubernetes:core/v1:Secret" and "-router-" in r.name]
    assert len(secrets) == 2 * len([r for r in run.resources if r.type == ROUTER])
    assert all(r.inputs["stringData"] == "[secret]" for r in secrets)


@pytest.fixture(scope="module")
def variant_run():
    """Two clients (one internal), a 10 % canary on the 8B model, per-client keys from the secret map."""
    raw = raw_variant("prod", routing={"clients": ["acme", "qa"], "internal_clients": ["qa"]},
                      models={"llama-8b": {"canary": {"revision": "abc123", "percent": 10},
                                           "replicas": {"min": 1, "max": 3}}},
                      secrets=("router_api_keys",))
    keys = json.dumps({"acme": CLIENT_KEY, "qa": CLIENT_KEY[::-1]})
    original = router_module.router_client_keys
    router_module.router_client_keys = lambda: __import__("pulumi").Output.secret(keys)
    try:
        yield run_fixture("prod", raw)
    finally:
        router_module.router_client_keys = original


def test_each_client_gets_its_own_rate_limit_bucket(variant_run):
    policies = [r for r in variant_run.resources if r.inputs.get("kind") == "BackendTrafficPolicy"]
    assert policies
    for policy in policies:
        rules = policy.inputs["spec"]["rateLimit"]["local"]["rules"]
        assert [r["clientSelectors"][0]["headers"][0]["value"] for r in rules] == ["default", "acme", "qa"]
        assert {r["limit"]["requests"] for r in rules} == {600}
    assert CLIENT_KEY not in dump(variant_run)


def test_override_needs_an_internal_client_and_canary_splits_by_bucket(variant_run):
    route = next(r for r in variant_run.resources if r.inputs.get("kind") == "HTTPRoute"
                 and r.inputs["metadata"]["name"] == "gpuinfra-router-llama-8b")
    rules = route.inputs["spec"]["rules"]
    override = [m for rule in rules for m in rule["matches"] if m.get("method") == "POST"]
    assert override and all({"name": "x-gpuinfra-client", "type": "Exact", "value": "qa"} in m["headers"]
                            for m in override)
    canary = [rule for rule in rules if any(b["name"].endswith("-canary") for b in rule["backendRefs"])]
    stable = [rule for rule in rules if rule not in canary]
    assert len(canary) == len(stable) == 4  # override, model, tier, default
    bucket = lambda rule: {h["value"] for m in rule["matches"] for h in m["headers"] if h["name"] == BUCKET_HEADER}
    assert {p for rule in canary for p in bucket(rule)} == {"^(0[0-9])$"}
    assert {p for rule in stable for p in bucket(rule)} == {"^(1[0-9]|[2-8][0-9]|9[0-9]|none)$"}


def router_config(run, router: str) -> dict:
    """What the router registers, as reviewed: objects (secrets redacted) and Helm releases."""
    out = {}
    for record in sorted(children(run, router), key=lambda r: r.name):
        role = record.name.removeprefix(f"{router}-")
        if is_k8s_object(record):
            out[role] = manifest(record)
        else:
            out[role] = {k: record.inputs.get(k) for k in ("chart", "version", "namespace", "values")}
    return out


def test_prod_router_configuration_matches_the_golden_file(prod_run):
    """Two models (70B + 8B) with tier rules on the us-east-1 router. UPDATE_GOLDEN=1 rewrites the file."""
    got = router_config(prod_run, "gpuinfra-prod-us-east-1-router")
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(yaml.safe_dump(got, sort_keys=True, width=120))
    assert got == yaml.safe_load(GOLDEN.read_text())
