"""The model router's routing table, planned from ``serving.routing``: rules per cluster and canary buckets."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from components.plan.names import cluster_name
from components.spec import StackSpec
from components.catalog.vocab import Cloud

#: ``model`` value every vLLM also serves (``--served-model-name <name> auto``): tier and default rules
#: pick the model for requests naming it, and vLLM rejects a body naming another model.
ROUTER_ALIAS = "auto"
#: Client id of ``gpuinfra:vllm_api_key`` at the gateway.
DEFAULT_CLIENT = "default"
#: Canary buckets: a user id hashes to one of 100; users below the canary percent get the canary.
BUCKETS = 100
#: Bucket value for requests without a user id header: always the stable revision (unless 100 %).
NO_USER = "none"
K8S_MODES = ("eks", "gke")
#: Header the canary Lua filter sets from the user id (stripped from client requests first).
BUCKET_HEADER = "x-gpuinfra-canary-bucket"
#: Headers the gateway itself derives or consumes: a routing setting may not reuse them. The first two
#: are set by the body-based router (names.MODEL_HEADER), Authorization carries the API key.
RESERVED_HEADERS = ("x-gateway-model-name", "x-gateway-base-model-name", BUCKET_HEADER, "authorization")
RuleKind = Literal["override", "model", "tier", "default"]
#: Rule kinds in precedence order (the gateway enforces it with match specificity, see the README).
KINDS: tuple[RuleKind, ...] = ("override", "model", "tier", "default")


@dataclass(frozen=True)
class RouteRule:
    """One routing rule of one cluster's router.

    Attributes:
        kind: override (internal clients' override header), model (the body's ``model``), tier (tier
            header, body ``model: auto``) or default (anything else).
        model: Target model.
        pools: The target model's pools in this cluster (one stable Service each, plus canaries).
        canary_percent: Share of user buckets sent to the canary Services (0: no canary).
        values: Tier values (tier) or internal client ids (override).
    """

    kind: RuleKind
    model: str
    pools: tuple[str, ...]
    canary_percent: int = 0
    values: tuple[str, ...] = ()

    def match(self, spec: StackSpec) -> str:
        """Human-readable condition (the plan's Routing table)."""
        r = spec.serving.routing
        if self.kind == "override":
            return f"{r.override_header}: {self.model} and client in [{', '.join(self.values)}]"
        if self.kind == "model":
            return f"model == {self.model}"
        if self.kind == "tier":
            return f"model == {ROUTER_ALIAS} and {r.tier_header} in [{', '.join(self.values)}]"
        return "any other request"


@dataclass(frozen=True)
class ClusterRoutes:
    """The router of one Kubernetes cluster: the models it serves and its rules in precedence order."""

    cluster: str
    cloud: Cloud
    region: str
    models: tuple[str, ...]
    rules: tuple[RouteRule, ...]


def served_by_cluster(spec: StackSpec) -> dict[str, tuple[str, str, dict[str, tuple[str, ...]]]]:
    """Kubernetes clusters (eks/gke mode) -> (cloud, region, model -> its pools there), in spec order."""
    out: dict[str, tuple[str, str, dict[str, tuple[str, ...]]]] = {}
    for cloud, pool in spec.pools():
        section = spec.section(cloud)
        if section is None or section.mode not in K8S_MODES:
            continue
        region = spec.pool_region(cloud, pool)
        name = cluster_name(spec.environment, cloud, region)
        entry = out.setdefault(name, (cloud, region, {}))
        for model in spec.models:
            if pool.name in model.pools:
                entry[2][model.name] = (*entry[2].get(model.name, ()), pool.name)
    return {name: entry for name, entry in out.items() if entry[2]}


def kubernetes_pools_by_model(spec: StackSpec) -> dict[str, tuple[str, ...]]:
    """Model -> its pools on eks/gke clusters (models served only on VM-mode pools are absent)."""
    out: dict[str, tuple[str, ...]] = {}
    for _, _, served in served_by_cluster(spec).values():
        for model, pools in served.items():
            out[model] = (*out.get(model, ()), *pools)
    return out


def _cluster_rules(spec: StackSpec, served: dict[str, tuple[str, ...]]) -> tuple[RouteRule, ...]:
    r = spec.serving.routing
    canary = {m.name: (m.canary.percent if m.canary else 0) for m in spec.models}
    order = [m.name for m in spec.models if m.name in served]

    def rule(kind: RuleKind, model: str, values: tuple[str, ...] = ()) -> RouteRule:
        return RouteRule(kind, model, served[model], canary[model], values)

    rules = [rule("override", m, tuple(r.internal_clients)) for m in order if r.internal_clients]
    rules += [rule("model", m) for m in order]
    tiers: dict[str, list[str]] = {}
    for t in r.tiers:
        if t.model in served:
            tiers.setdefault(t.model, []).append(t.value)
    rules += [rule("tier", m, tuple(values)) for m, values in tiers.items()]
    if r.default_model in served:
        rules.append(rule("default", r.default_model))
    return tuple(rules)


def plan_routes(spec: StackSpec) -> list[ClusterRoutes]:
    """One router per Kubernetes cluster that serves models; it routes only to models served there.

    Args:
        spec: A validated stack.

    Returns:
        The clusters' routers (empty while ``serving.routing.enabled`` is false).
    """
    if not spec.serving.routing.enabled:
        return []
    return [ClusterRoutes(name, cloud, region, tuple(served), _cluster_rules(spec, served))
            for name, (cloud, region, served) in served_by_cluster(spec).items()]


def routing_rows(spec: StackSpec, planned: tuple[ClusterRoutes, ...] | list[ClusterRoutes]) -> list[dict]:
    """The plan's Routing table: one row per distinct rule, with the clusters that carry it.

    Returns:
        Rows ``{priority, match, model, canary, clusters, pools}`` in precedence order (empty while
        routing is disabled). ``canary`` is ``"<percent>% -> <revision>"`` or ``"-"``.
    """
    grouped: dict[tuple, dict] = {}
    for routes in planned:
        for rule in routes.rules:
            key = (KINDS.index(rule.kind), rule.match(spec), rule.model)
            row = grouped.setdefault(key, {"clusters": [], "pools": []})
            row["clusters"].append(routes.cluster)
            row["pools"] += [p for p in rule.pools if p not in row["pools"]]
    revision = {m.name: m.canary.revision for m in spec.models if m.canary}
    rows = []
    for (priority, match, model), row in sorted(grouped.items(), key=lambda item: item[0][0]):
        canary = next((m.canary.percent for m in spec.models if m.name == model and m.canary), 0)
        rows.append({"priority": priority + 1, "match": match, "model": model,
                     "canary": f"{canary}% -> {revision[model]}" if canary else "-",
                     "clusters": row["clusters"], "pools": row["pools"]})
    return rows


def fnv1a32(data: bytes) -> int:
    """32-bit FNV-1a (Fowler/Noll/Vo, http://www.isthe.com/chongo/tech/comp/fnv/, checked 2026-11-23)."""
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) % 2**32
    return h


def canary_bucket(user_id: str) -> int:
    """The user's bucket: FNV-1a of the UTF-8 bytes modulo 100 (the router's Lua computes the same).

    Unlike a seeded hash it is stable across processes, Envoy replicas and releases: the same user always
    gets the same bucket, and raising the percent only moves users from stable to canary.
    """
    return fnv1a32(user_id.encode()) % BUCKETS


def bucket_pattern(low: int, high: int, no_user: bool) -> str:
    """RE2 pattern matching the two-digit buckets ``low <= b < high`` (and ``none`` when ``no_user``).

    Built from digit ranges (not a 100-way alternation) to stay far below Envoy's RE2 program-size limit.
    """
    parts = []
    if low < high:
        (a, b), (c, d) = divmod(low, 10), divmod(high - 1, 10)
        if a == c:
            parts.append(f"{a}[{b}-{d}]")
        else:
            parts.append(f"{a}[{b}-9]")
            if c - a > 1:
                parts.append(f"[{a + 1}-{c - 1}][0-9]")
            parts.append(f"{c}[0-{d}]")
    if no_user:
        parts.append(NO_USER)
    return f"^({'|'.join(parts)})$"
