"""Monitoring facts of a stack (metric names, thresholds, catalog prices) and the recording rules built on them."""
from __future__ import annotations

from dataclasses import dataclass

from components.catalog.metrics import VllmMetrics, vllm_metrics
from components.catalog.versions import vllm_version
from components.plan import names
from components.plan.basis import PlanBasis
from components.plan.cost import CostPlan
from components.plan.pricing import Hourly
from components.spec import StackSpec

#: Rule groups are evaluated every minute: GPU-hours are counted as samples / 60.
RULE_INTERVAL_SECONDS = 60
#: Scrape job names shared by the Kubernetes ServiceMonitors and the VM-mode scrape config.
DCGM_JOB = "dcgm-exporter"
RESERVED_TIERS = ("reserved", "capacity-block")


@dataclass(frozen=True)
class MonitoringFacts:
    """Everything the rules and dashboards of one stack depend on."""

    metrics: VllmMetrics
    namespace: str
    owner: str
    idle_pct: float
    memory_ratio: float
    ttft_p95_seconds: float
    e2e_p99_seconds: float
    error_rate: float
    node_prices: tuple[tuple[str, str, float], ...]
    """(pool, capacity tier, USD per node-hour) from the cost model."""
    reserved_nodes: tuple[tuple[str, str, int], ...]
    """(pool, tier, nodes) of every reserved or capacity-block rung."""


def _node_prices(basis: PlanBasis, cost: CostPlan) -> tuple[tuple[str, str, float], ...]:
    """USD per node-hour per (pool, tier), read from the cost model's items (never re-priced here)."""
    items = cost.items
    out = []
    for ladder in basis.ladders.values():
        for rung in ladder.rungs:
            # The fallback rung has no item: it is priced as the spot item's worst case (on-demand).
            purchase = "spot" if rung.tier == "on-demand-fallback" else rung.purchase
            wanted = {names.rung_name(ladder.pool, "spot" if rung.tier == "on-demand-fallback" else rung.tier),
                      names.fleet_name(ladder.pool)}
            item = next(i for i in items if i.resource in wanted and i.purchase == purchase)
            # One node's price: with traffic the item's total counts the burst's mean nodes, not its maximum.
            unit = item.unit_hourly or Hourly(*(v / max(item.count_max, 1) for v in
                                                (item.hourly.best, item.hourly.expected, item.hourly.worst)))
            out.append((ladder.pool, rung.tier, round(unit.worst if rung.tier == "on-demand-fallback" else unit.best, 4)))
    return tuple(out)


def monitoring_facts(basis: PlanBasis, cost: CostPlan) -> MonitoringFacts:
    """Collect a stack's monitoring facts from the spec, the ladders and the cost model.

    The GPU-memory threshold is the seed's 90 % or, when higher, vLLM's own reservation
    (``gpu_memory_utilization``) plus 5 points: vLLM pre-allocates that share at boot, so a 90 %
    threshold would fire on every healthy replica.
    """
    spec = basis.spec
    mon = spec.monitoring
    util = max((m.gpu_memory_utilization for m in spec.models), default=0.9)
    reserved = tuple((lad.pool, r.tier, r.min_nodes) for lad in basis.ladders.values() for r in lad.rungs
                     if r.tier in RESERVED_TIERS)
    return MonitoringFacts(
        metrics=vllm_metrics(spec.serving.vllm_version or vllm_version()), namespace=spec.serving.namespace,
        owner=spec.owner, idle_pct=mon.gpu_idle_threshold_pct, memory_ratio=round(min(max(0.9, util + 0.05), 0.98), 2),
        ttft_p95_seconds=mon.slo.ttft_p95_seconds, e2e_p99_seconds=mon.slo.e2e_p99_seconds,
        error_rate=mon.slo.error_rate, node_prices=_node_prices(basis, cost), reserved_nodes=reserved)


def _rule(record: str, expr: str, labels: dict[str, str] | None = None) -> dict:
    rule = {"record": record, "expr": " ".join(expr.split())}
    if labels:
        rule["labels"] = labels
    return rule


def _pod_node(inner: str) -> str:
    """Attach ``node`` to a per-pod vLLM aggregation through kube_pod_info (Kubernetes targets lack it)."""
    return (f"{inner} * on (namespace, pod) group_left (node) "
            f"group by (namespace, pod, node) (kube_pod_info{{node!=\"\"}})")


def recording_rules(facts: MonitoringFacts) -> list[dict]:
    """Recording rules: node inventory, GPU utilisation per pool/model, tokens/s, GPU-hours, cost, latency.

    Series contract: DCGM and (in VM mode) vLLM targets carry ``node``; VM targets also carry ``pool``
    and ``tier`` (scrape relabelling); Kubernetes nodes carry the gpuinfra.dev labels (kube_node_labels).
    """
    m = facts.metrics
    gen = f"rate({m.generation_tokens}[5m])"
    rules = [
        _rule("gpuinfra:node_info", f"""group by (node, pool, tier) (label_replace(label_replace(
              kube_node_labels{{label_gpuinfra_dev_pool!=""}}, "pool", "$1", "label_gpuinfra_dev_pool", "(.+)"),
              "tier", "$1", "label_gpuinfra_dev_capacity_tier", "(.+)"))
              or group by (node, pool, tier) (up{{job="{DCGM_JOB}", pool!=""}})"""),
        _rule("gpuinfra:gpu_util_pct:gpu", "max by (node, gpu) (DCGM_FI_DEV_GPU_UTIL) "
              "* on (node) group_left (pool, tier) gpuinfra:node_info"),
        _rule("gpuinfra:gpu_util_pct:pool", "avg by (pool) (gpuinfra:gpu_util_pct:gpu)"),
        _rule("gpuinfra:gpu_memory_used:ratio", "max by (node, gpu) "
              "(DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE))"),
        _rule("gpuinfra:model_node_info", f"""group by (node, model_name) ({m.requests_running}{{node!=""}})
              or group by (node, model_name) ({_pod_node(f"group by (namespace, pod, model_name) ({m.requests_running})")})"""),
        _rule("gpuinfra:gpu_util_pct:pool_model", "avg by (pool, model_name) (avg by (node, pool, tier) "
              "(gpuinfra:gpu_util_pct:gpu) * on (node) group_right (pool, tier) gpuinfra:model_node_info)"),
        _rule("gpuinfra:generation_tokens_per_second:model", f"sum by (model_name) ({gen})"),
        _rule("gpuinfra:prompt_tokens_per_second:model", f"sum by (model_name) (rate({m.prompt_tokens}[5m]))"),
        _rule("gpuinfra:generation_tokens_per_second:node_model",
              f"""sum by (node, model_name) (rate({m.generation_tokens}{{node!=""}}[5m]))
              or sum by (node, model_name) ({_pod_node(f"sum by (namespace, pod, model_name) ({gen})")})"""),
        _rule("gpuinfra:generation_tokens_per_second:pool", "sum by (pool) (gpuinfra:generation_tokens_per_second:"
              "node_model * on (node) group_left (pool) gpuinfra:node_info)"),
        _rule("gpuinfra:gpus:pool_tier", "count by (pool, tier) (gpuinfra:gpu_util_pct:gpu)"),
        _rule("gpuinfra:gpu_hours_1h:tier", "sum by (tier) (sum_over_time(gpuinfra:gpus:pool_tier[1h])) "
              f"/ {3600 // RULE_INTERVAL_SECONDS}"),
        *[_rule("gpuinfra:node_hourly_usd", f"vector({usd})", {"pool": pool, "tier": tier})
          for pool, tier, usd in facts.node_prices],
        _rule("gpuinfra:pool_hourly_usd", "sum by (pool) (count by (pool, tier) (gpuinfra:node_info) "
              "* on (pool, tier) gpuinfra:node_hourly_usd)"),
        _rule("gpuinfra:usd_per_mtok:pool", "gpuinfra:pool_hourly_usd / on (pool) "
              "(gpuinfra:generation_tokens_per_second:pool * 3600 / 1e6 > 0)"),
        *[_rule("gpuinfra:reserved_nodes_expected", f"vector({n})", {"pool": pool, "tier": tier})
          for pool, tier, n in facts.reserved_nodes],
        _rule("gpuinfra:ttft_seconds:p95", "histogram_quantile(0.95, sum by (model_name, le) "
              f"(rate({m.ttft_seconds}_bucket[5m])))"),
        _rule("gpuinfra:e2e_latency_seconds:p99", "histogram_quantile(0.99, sum by (model_name, le) "
              f"(rate({m.e2e_latency_seconds}_bucket[5m])))"),
        _rule("gpuinfra:request_error:ratio", _error_ratio(m)),
    ]
    return rules


def _error_ratio(m: VllmMetrics) -> str:
    """5xx share of OpenAI API requests per model (HTTP counters carry no model: join on the target)."""
    model = f"on (instance) group_left (model_name) group by (instance, model_name) ({m.requests_running})"
    api = 'handler=~"/v1/.*"'
    return (f'sum by (model_name) (rate({m.http_requests}{{{api}, status="5xx"}}[5m]) * {model}) '
            f'/ sum by (model_name) (rate({m.http_requests}{{{api}}}[5m]) * {model})')
