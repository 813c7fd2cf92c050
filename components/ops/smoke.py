"""Smoke test of a deployed router: real OpenAI-compatible requests checked against what the plan promises."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from components.k8s.manifests.router import ENVOY_REPLICAS
from components.k8s.manifests.router_routes import ROUTED_MODEL_HEADER, ROUTED_REVISION_HEADER
from components.ops.errors import OpsError
from components.plan.routing import ROUTER_ALIAS, plan_routes
from components.spec import StackSpec

Status = Literal["pass", "fail", "skip"]
CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
WRONG_KEY = "gpuinfra-smoke-wrong-key"


@dataclass(frozen=True)
class SmokePlan:
    """What one cluster's router promises (from the stack's routing plan)."""

    cluster: str
    models: tuple[str, ...]
    default_model: str | None
    tier_header: str
    tiers: tuple[tuple[str, str], ...]  # (tier value, model), first match wins
    override_header: str
    internal_clients: tuple[str, ...]
    user_header: str
    canaries: tuple[tuple[str, int], ...]  # (model, percent) for models with a canary
    rate_limit_per_minute: int | None


@dataclass(frozen=True)
class Check:
    """One promise and how the endpoint kept it."""

    name: str
    status: Status
    detail: str


@dataclass
class SmokeOptions:
    """Knobs of a run (defaults suit a real deployment; tests shrink them)."""

    canary_users: int = 40
    canary_tolerance_pct: float = 15.0
    max_rate_requests: int = 2000
    timeout_seconds: float = 60.0
    retries_on_429: int = 3
    sleep: Callable[[float], None] = field(default=time.sleep)


def smoke_plan(spec: StackSpec, cluster: str | None = None) -> SmokePlan:
    """The promises of the router of ``cluster`` (optional when the stack has one router).

    Raises:
        OpsError: routing is disabled, or the cluster is unknown / ambiguous (exit 2).
    """
    routes = {r.cluster: r for r in plan_routes(spec)}
    if not routes:
        raise OpsError("serving.routing.enabled: false - the stack has no router to smoke-test (allowed: true)")
    if cluster is None and len(routes) > 1:
        raise OpsError(f"--cluster: required, the stack has {len(routes)} routers (allowed: {', '.join(routes)})")
    name = cluster or next(iter(routes))
    if name not in routes:
        raise OpsError(f"--cluster: unknown cluster {name!r} (allowed: {', '.join(routes)})")
    r, routing = routes[name], spec.serving.routing
    tiers: dict[str, str] = {}
    for t in routing.tiers:  # first match wins; a tier whose model this cluster lacks routes nowhere here
        if t.model in r.models:
            tiers.setdefault(t.value, t.model)
    default = next((rule.model for rule in r.rules if rule.kind == "default"), None)
    canaries = tuple(sorted({(rule.model, rule.canary_percent) for rule in r.rules if rule.canary_percent}))
    return SmokePlan(name, r.models, default, routing.tier_header, tuple(tiers.items()), routing.override_header,
                     tuple(routing.internal_clients), routing.user_header, canaries,
                     routing.rate_limit_requests_per_minute)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: dict | None


class Client:
    """Minimal HTTP client of the gateway (stdlib only), retrying a 429 a bounded number of times."""

    def __init__(self, endpoint: str, options: SmokeOptions) -> None:
        self.endpoint, self.options = endpoint.rstrip("/"), options

    def send(self, path: str, key: str | None, body: dict | None = None, headers: dict[str, str] | None = None,
             retry_429: bool = True) -> Reply:
        for attempt in range(self.options.retries_on_429 + 1):
            reply = self._once(path, key, body, headers or {})
            if reply.status != 429 or not retry_429 or attempt == self.options.retries_on_429:
                return reply
            self.options.sleep(float(reply.headers.get("retry-after", "5") or 5))
        return reply

    def _once(self, path: str, key: str | None, body: dict | None, headers: dict[str, str]) -> Reply:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.endpoint + path, data=data, method="POST" if data else "GET")
        request.add_header("Content-Type", "application/json")
        if key is not None:
            request.add_header("Authorization", f"Bearer {key}")
        for name, value in headers.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.options.timeout_seconds) as response:
                return Reply(response.status, _lower(response.headers), _json(response.read()))
        except urllib.error.HTTPError as error:
            return Reply(error.code, _lower(error.headers), _json(error.read()))
        except (urllib.error.URLError, OSError) as error:
            raise OpsError(f"--endpoint: {self.endpoint} unreachable ({getattr(error, 'reason', error)})") from error


def _lower(headers) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _json(raw: bytes) -> dict | None:
    try:
        value = json.loads(raw or b"null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _chat(model: str) -> dict:
    return {"model": model, "max_tokens": 4, "messages": [{"role": "user", "content": "Reply with OK."}]}


def _routed(reply: Reply) -> str:
    return reply.headers.get(ROUTED_MODEL_HEADER, "?")


def _answered(reply: Reply) -> bool:
    return reply.status == 200 and bool((reply.body or {}).get("choices"))


def check_models(plan: SmokePlan, client: Client, key: str) -> list[Check]:
    """Each served model answers a chat completion, and the gateway says it routed it there."""
    out = []
    for model in plan.models:
        reply = client.send(CHAT_PATH, key, _chat(model))
        ok = _answered(reply) and _routed(reply) == model
        out.append(Check(f"model:{model}", "pass" if ok else "fail",
                         f"HTTP {reply.status}, routed to {_routed(reply)}" + ("" if ok else f" (expected {model})")))
    return out


def check_auth(plan: SmokePlan, client: Client) -> list[Check]:
    """A wrong key and a missing key are refused with 401 before any model sees the request."""
    out = []
    for name, key in (("auth:wrong-key", WRONG_KEY), ("auth:no-key", None)):
        reply = client.send(CHAT_PATH, key, _chat(plan.models[0]))
        out.append(Check(name, "pass" if reply.status == 401 else "fail", f"HTTP {reply.status} (expected 401)"))
    return out


def check_tiers(plan: SmokePlan, client: Client, key: str) -> list[Check]:
    """``model: auto`` with each tier value reaches that tier's model; without a tier, the default model."""
    cases = [(f"tier:{value}", {plan.tier_header: value}, model) for value, model in plan.tiers]
    if plan.default_model:
        cases.append(("default", {}, plan.default_model))
    out = []
    for name, headers, model in cases:
        reply = client.send(CHAT_PATH, key, _chat(ROUTER_ALIAS), headers)
        ok = _answered(reply) and _routed(reply) == model
        out.append(Check(name, "pass" if ok else "fail", f"HTTP {reply.status}, routed to {_routed(reply)} "
                                                         f"(expected {model})"))
    return out


def check_override(plan: SmokePlan, client: Client, key: str, internal_key: str | None) -> list[Check]:
    """The override header moves only internal clients' requests; everyone else keeps the normal route."""
    if len(plan.models) < 2 or plan.default_model is None:
        return [Check("override", "skip", "needs two models and a default model on this router")]
    target = next(m for m in plan.models if m != plan.default_model)
    out = []
    if "default" not in plan.internal_clients:
        reply = client.send(CHAT_PATH, key, _chat(ROUTER_ALIAS), {plan.override_header: target})
        ok = reply.status == 200 and _routed(reply) == plan.default_model
        out.append(Check("override:ignored-for-external", "pass" if ok else "fail",
                         f"HTTP {reply.status}, routed to {_routed(reply)} (expected {plan.default_model})"))
    if not plan.internal_clients:
        return out
    if internal_key is None:
        return [*out, Check("override:internal", "skip", "no --internal-key given")]
    reply = client.send(CHAT_PATH, internal_key, _chat(ROUTER_ALIAS), {plan.override_header: target})
    ok = _answered(reply) and _routed(reply) == target
    return [*out, Check("override:internal", "pass" if ok else "fail",
                        f"HTTP {reply.status}, routed to {_routed(reply)} (expected {target})")]


def check_canaries(plan: SmokePlan, client: Client, key: str, options: SmokeOptions) -> list[Check]:
    """Each user id lands on the same revision every time, and the canary share is the plan's within tolerance."""
    out = []
    for model, percent in plan.canaries:
        users = [f"gpuinfra-smoke-{i}" for i in range(options.canary_users)]
        seen: dict[str, set[str]] = {u: set() for u in users}
        for _round in range(2):
            for user in users:
                reply = client.send(CHAT_PATH, key, _chat(model), {plan.user_header: user})
                seen[user].add(reply.headers.get(ROUTED_REVISION_HEADER, f"HTTP {reply.status}"))
        flipped = [u for u, revisions in seen.items() if len(revisions) != 1]
        share = 100.0 * sum(seen[u] == {"canary"} for u in users) / len(users)
        ok = not flipped and abs(share - percent) <= options.canary_tolerance_pct
        detail = (f"canary share {share:.0f}% of {len(users)} users (plan {percent}% +/- "
                  f"{options.canary_tolerance_pct:g}), {len(flipped)} users switched revision")
        out.append(Check(f"canary:{model}", "pass" if ok else "fail", detail))
    return out


def check_rate_limit(plan: SmokePlan, client: Client, key: str, options: SmokeOptions) -> list[Check]:
    """The per-client limit answers 429 within limit x Envoy replicas + 1 requests (one bucket per replica)."""
    if plan.rate_limit_per_minute is None:
        return [Check("rate-limit", "skip", "no rate limit in the plan")]
    needed = plan.rate_limit_per_minute * ENVOY_REPLICAS + 1
    if needed > options.max_rate_requests:
        return [Check("rate-limit", "skip", f"needs {needed} requests, above --max-rate-requests "
                                            f"{options.max_rate_requests}")]
    for sent in range(1, needed + 1):
        reply = client.send(MODELS_PATH, key, retry_429=False)
        if reply.status == 429:
            return [Check("rate-limit", "pass", f"HTTP 429 after {sent} requests (limit "
                                                f"{plan.rate_limit_per_minute}/min per replica)")]
    return [Check("rate-limit", "fail", f"no 429 in {needed} requests (limit {plan.rate_limit_per_minute}/min)")]


def run_smoke(plan: SmokePlan, endpoint: str, key: str, internal_key: str | None = None,
              options: SmokeOptions | None = None, skip: tuple[str, ...] = ()) -> list[Check]:
    """Every check in order (the rate limit last: it uses up the client's bucket).

    Args:
        plan: The router's promises (``smoke_plan``).
        endpoint: Base URL of the gateway, e.g. ``https://llm.example.com``.
        key: An API key of a non-internal client (``gpuinfra:vllm_api_key`` is client ``default``).
        internal_key: A key of an internal client (for the positive override check).
        options: Knobs; defaults suit a real deployment.
        skip: Check groups not to run (``models auth tiers override canary rate-limit``).

    Raises:
        OpsError: the endpoint is unreachable.
    """
    options = options or SmokeOptions()
    client = Client(endpoint, options)
    groups = {
        "models": lambda: check_models(plan, client, key),
        "auth": lambda: check_auth(plan, client),
        "tiers": lambda: check_tiers(plan, client, key),
        "override": lambda: check_override(plan, client, key, internal_key),
        "canary": lambda: check_canaries(plan, client, key, options),
        "rate-limit": lambda: check_rate_limit(plan, client, key, options),
    }
    unknown = sorted(set(skip) - set(groups))
    if unknown:
        raise OpsError(f"--skip: unknown check {unknown[0]!r} (allowed: {', '.join(groups)})")
    return [c for name, run in groups.items() if name not in skip for c in run()]
