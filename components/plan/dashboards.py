"""Grafana dashboards (GPU fleet, serving, cost) as JSON-ready dicts built on the same metric names as the rules."""
from __future__ import annotations

from components.catalog.metrics import VllmMetrics
from components.plan.recording import MonitoringFacts

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
QUANTILES = (0.5, 0.95, 0.99)


def _panel(title: str, targets: list[tuple[str, str]], unit: str, slot: int) -> dict:
    """A time-series panel; ``targets`` are (PromQL, legend) pairs; panels tile two per row."""
    return {
        "type": "timeseries", "title": title, "datasource": DATASOURCE, "id": slot + 1,
        "gridPos": {"h": 8, "w": 12, "x": 12 * (slot % 2), "y": 8 * (slot // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "datasource": DATASOURCE}
                    for i, (expr, legend) in enumerate(targets)],
    }


def _dashboard(uid: str, title: str, panels: list[tuple[str, list[tuple[str, str]], str]]) -> dict:
    return {
        "uid": uid, "title": title, "tags": ["gpuinfra"], "schemaVersion": 39, "editable": False,
        "time": {"from": "now-24h", "to": "now"}, "refresh": "1m",
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
        "panels": [_panel(t, targets, unit, i) for i, (t, targets, unit) in enumerate(panels)],
    }


def _quantiles(metric: str) -> list[tuple[str, str]]:
    return [(f"histogram_quantile({q}, sum by (model_name, le) (rate({metric}_bucket[5m])))",
             f"p{int(q * 100)} {{{{model_name}}}}") for q in QUANTILES]


def fleet_dashboard() -> dict:
    """GPU fleet: utilisation, memory, temperature, power and XID errors per node and pool."""
    return _dashboard("gpuinfra-gpu-fleet", "gpuinfra / GPU fleet", [
        ("GPU utilisation per pool", [("gpuinfra:gpu_util_pct:pool", "{{pool}}")], "percent"),
        ("GPU utilisation per pool and model", [("gpuinfra:gpu_util_pct:pool_model", "{{pool}} {{model_name}}")],
         "percent"),
        ("GPU utilisation per node", [("avg by (node, pool) (gpuinfra:gpu_util_pct:gpu)", "{{pool}} {{node}}")],
         "percent"),
        ("GPU framebuffer used", [("gpuinfra:gpu_memory_used:ratio", "{{node}} gpu{{gpu}}")], "percentunit"),
        ("GPU temperature", [("max by (node, gpu) (DCGM_FI_DEV_GPU_TEMP)", "{{node}} gpu{{gpu}}")], "celsius"),
        ("GPU power per node", [("sum by (node) (DCGM_FI_DEV_POWER_USAGE)", "{{node}}")], "watt"),
        ("XID errors (last code in 5m)", [("max by (node, gpu) (max_over_time(DCGM_FI_DEV_XID_ERRORS[5m]))",
                                           "{{node}} gpu{{gpu}}")], "none"),
        ("GPUs per pool and tier", [("gpuinfra:gpus:pool_tier", "{{pool}} {{tier}}")], "none"),
    ])


def serving_dashboard(m: VllmMetrics) -> dict:
    """Serving: requests running/waiting, TTFT and inter-token latency quantiles, tokens/s, KV cache, errors, replicas."""
    return _dashboard("gpuinfra-serving", "gpuinfra / vLLM serving", [
        ("Requests running / waiting", [(f"sum by (model_name) ({m.requests_running})", "running {{model_name}}"),
                                        (f"sum by (model_name) ({m.requests_waiting})", "waiting {{model_name}}")],
         "none"),
        ("Time to first token", _quantiles(m.ttft_seconds), "s"),
        ("Inter-token latency", _quantiles(m.inter_token_latency_seconds), "s"),
        ("End-to-end latency p99", [("gpuinfra:e2e_latency_seconds:p99", "{{model_name}}")], "s"),
        ("Tokens per second", [("gpuinfra:generation_tokens_per_second:model", "output {{model_name}}"),
                               ("gpuinfra:prompt_tokens_per_second:model", "prompt {{model_name}}")], "none"),
        ("KV cache usage", [(f"max by (model_name, instance) ({m.kv_cache_usage})", "{{model_name}} {{instance}}")],
         "percentunit"),
        ("5xx error ratio", [("gpuinfra:request_error:ratio", "{{model_name}}")], "percentunit"),
        ("Preemptions per second", [(f"sum by (model_name) (rate({m.preemptions}[5m]))", "{{model_name}}")], "none"),
        ("Replicas serving", [(f"count by (model_name) (group by (instance, model_name) ({m.requests_running}))",
                               "{{model_name}}")], "none"),
    ])


def cost_dashboard(facts: MonitoringFacts) -> dict:
    """Cost: GPU-hours by capacity tier, USD per hour per pool and USD per million output tokens."""
    return _dashboard("gpuinfra-cost", "gpuinfra / GPU cost", [
        ("GPU-hours in the last hour by tier", [("gpuinfra:gpu_hours_1h:tier", "{{tier}}")], "none"),
        ("GPU-hours over 24h by tier", [("sum_over_time(gpuinfra:gpu_hours_1h:tier[1d:1h])", "{{tier}}")], "none"),
        ("USD per hour per pool (catalog price x nodes)", [("gpuinfra:pool_hourly_usd", "{{pool}}"),
                                                          ("sum(gpuinfra:pool_hourly_usd)", "total")], "currencyUSD"),
        ("USD per million output tokens", [("gpuinfra:usd_per_mtok:pool", "{{pool}}")], "currencyUSD"),
        ("Catalog price per node-hour", [("gpuinfra:node_hourly_usd", "{{pool}} {{tier}}")], "currencyUSD"),
    ] + ([_RESERVED_PANEL] if facts.reserved_nodes else []))


_RESERVED_PANEL = ("Reserved nodes expected vs running",
                   [("gpuinfra:reserved_nodes_expected", "expected {{pool}}"),
                    ('count by (pool, tier) (gpuinfra:node_info{tier=~"reserved|capacity-block"})', "running {{pool}}")],
                   "none")


def dashboards(facts: MonitoringFacts) -> dict[str, dict]:
    """Every dashboard of a stack keyed by a file-name stem (``<stem>.json``)."""
    return {"gpu-fleet": fleet_dashboard(), "serving": serving_dashboard(facts.metrics), "cost": cost_dashboard(facts)}


def dashboard_exprs(dashboard: dict) -> list[str]:
    """Every PromQL expression of a dashboard (for parsing and name checks)."""
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
