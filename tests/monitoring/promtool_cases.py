"""promtool unit tests for the prod stack's rules, built from the same facts the rules use (thresholds, names)."""
from __future__ import annotations

import re

from components.plan.alerts import alerts
from components.plan.recording import MonitoringFacts

OWNER = "ml-platform"


def _labels(**kv: str) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in kv.items()) + "}"


def node(name: str, pool: str, tier: str) -> dict:
    """kube_node_labels of a GPU node (kube-state-metrics with the gpuinfra.dev allow-list)."""
    return {"series": "kube_node_labels" + _labels(node=name, label_gpuinfra_dev_pool=pool,
                                                   label_gpuinfra_dev_capacity_tier=tier), "values": "1x200"}


def series(metric: str, values: str, **labels: str) -> dict:
    return {"series": metric + _labels(**labels), "values": values}


def _render(template: str, labels: dict[str, str], value: str | None) -> str:
    out = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], template)
    return out.replace("{{ $value }}", value or "")


def expect(facts: MonitoringFacts, alert: str, value: str | None = None, **labels: str) -> dict:
    """One expected alert: its labels plus severity/owner, annotations rendered like Prometheus does."""
    rule = next(a for a in alerts(facts) if a.name == alert)
    return {"exp_labels": {**labels, "severity": rule.severity, "owner": OWNER},
            "exp_annotations": {"summary": _render(rule.summary, labels, value), "runbook": rule.runbook}}


def case(alert: str, inputs: list[dict], eval_time: str, expected: list[dict], interval: str = "1m") -> dict:
    return {"interval": interval, "input_series": inputs,
            "alert_rule_test": [{"eval_time": eval_time, "alertname": alert, "exp_alerts": expected}]}


def _gpu(facts: MonitoringFacts) -> list[dict]:
    n1 = node("n1", "l40s-use1", "on-demand")
    at = {"node": "n1", "pool": "l40s-use1", "tier": "on-demand"}
    util = lambda v: series("DCGM_FI_DEV_GPU_UTIL", f"{v}x200", node="n1", gpu="0")  # noqa: E731
    mem = lambda used, free: [series("DCGM_FI_DEV_FB_USED", f"{used}x30", node="n1", gpu="0"),  # noqa: E731
                              series("DCGM_FI_DEV_FB_FREE", f"{free}x30", node="n1", gpu="0")]
    temp = lambda v: series("DCGM_FI_DEV_GPU_TEMP", f"{v}x30", node="n1", gpu="0")  # noqa: E731
    return [
        case("GpuIdle", [n1, util(10)], "75m", [expect(facts, "GpuIdle", **at)]),
        case("GpuIdle", [n1, util(50)], "75m", []),
        case("GpuPoolSaturated", [n1, util(99)], "20m", [expect(facts, "GpuPoolSaturated", pool="l40s-use1")]),
        case("GpuPoolSaturated", [n1, util(90)], "20m", []),
        # 98.8 % used: beyond vLLM's 0.9 reservation + 5 points.
        case("GpuMemoryHigh", [n1, *mem(80000, 1000)], "15m", [expect(facts, "GpuMemoryHigh", node="n1", gpu="0")]),
        # 91.4 %: a healthy vLLM replica (gpu_memory_utilization 0.9) must not page.
        case("GpuMemoryHigh", [n1, *mem(74000, 7000)], "15m", []),
        case("GpuTemperatureHigh", [n1, temp(90)], "10m",
             [expect(facts, "GpuTemperatureHigh", "90", node="n1", gpu="0")]),
        case("GpuTemperatureHigh", [n1, temp(80)], "10m", []),
        case("GpuXidError", [n1, series("DCGM_FI_DEV_XID_ERRORS", "0 0 0 79 0x30", node="n1", gpu="0")], "5m",
             [expect(facts, "GpuXidError", "79", node="n1", gpu="0")]),
        # The XID left the 10-minute window: resolved.
        case("GpuXidError", [n1, series("DCGM_FI_DEV_XID_ERRORS", "0 0 0 79 0x30", node="n1", gpu="0")], "20m", []),
        case("DcgmExporterMissing", [n1], "20m", [expect(facts, "DcgmExporterMissing", **at)]),
        case("DcgmExporterMissing", [n1, util(50)], "20m", []),
    ]


def _reservations(facts: MonitoringFacts) -> list[dict]:
    reserved = [(p, t) for p, t, _ in facts.reserved_nodes]
    r1 = node("r1", *reserved[0])
    busy = series("DCGM_FI_DEV_GPU_UTIL", "60x200", node="r1", gpu="0")
    idle = series("DCGM_FI_DEV_GPU_UTIL", "5x200", node="r1", gpu="0")
    every = [node(f"r{i}", p, t) for i, (p, t) in enumerate(reserved, 1)]
    return [
        case("ReservedGpusIdle", [r1, idle], "75m",
             [expect(facts, "ReservedGpusIdle", pool=reserved[0][0], tier=reserved[0][1])]),
        case("ReservedGpusIdle", [r1, busy], "75m", []),
        case("ReservationNotConsumed", [node("n1", "l40s-use1", "on-demand")], "40m",
             [expect(facts, "ReservationNotConsumed", pool=p, tier=t) for p, t in reserved]),
        case("ReservationNotConsumed", every, "40m", []),
    ]


def _histogram(metric: str, model: str, buckets: dict[str, str]) -> list[dict]:
    return [series(f"{metric}_bucket", v, model_name=model, le=le) for le, v in buckets.items()]


def _serving(facts: MonitoringFacts) -> list[dict]:
    m, model = facts.metrics, "llama-70b"
    slow = {"0.5": "0x30", "1": "0x30", "2.5": "0x30", "5": "0+10x30", "+Inf": "0+10x30"}
    fast = {"0.5": "0+10x30", "1": "0+10x30", "2.5": "0+10x30", "5": "0+10x30", "+Inf": "0+10x30"}
    e2e_slow = {"5": "0x30", "10": "0x30", "20": "0+10x30", "+Inf": "0+10x30"}
    e2e_fast = {"5": "0+10x30", "10": "0+10x30", "20": "0+10x30", "+Inf": "0+10x30"}
    running = series(m.requests_running, "1x30", model_name=model, instance="i1")
    http = lambda five: [series(m.http_requests, "0+99x30", instance="i1", handler="/v1/chat/completions",  # noqa: E731
                                status="2xx"),
                         series(m.http_requests, five, instance="i1", handler="/v1/chat/completions", status="5xx")]
    day, drop = 1440, "0+6000x1440 8640000+3000x60"
    steady = f"0+6000x{day + 60}"
    pod = lambda ready_false: [series("kube_pod_start_time", "0x10", namespace=facts.namespace, pod="p1"),  # noqa: E731
                               series("kube_pod_status_ready", f"{ready_false}x10", namespace=facts.namespace,
                                      pod="p1", condition="false")]
    p50_slow = {"1": "0x30", "2.5": "0x30", "5": "0+10x30", "+Inf": "0+10x30"}
    p50_fast = {"1": "0+10x30", "2.5": "0+10x30", "5": "0+10x30", "+Inf": "0+10x30"}
    itl = lambda per_token: [  # noqa: E731 - 100 tokens a minute, per_token seconds each
        series(f"{m.inter_token_latency_seconds}_sum", f"0+{100 * per_token:g}x40", model_name=model, instance="i1"),
        series(f"{m.inter_token_latency_seconds}_count", "0+100x40", model_name=model, instance="i1")]
    batch = lambda running, traffic="0+30x120": [  # noqa: E731
        series(m.requests_running, f"{running}x120", model_name=model, instance="i1"),
        series(m.request_success, traffic, model_name=model, instance="i1")]
    return [
        case("VllmQueueGrowing", [series(m.requests_waiting, "0+1x30", model_name=model, instance="i1")], "25m",
             [expect(facts, "VllmQueueGrowing", model_name=model)]),
        case("VllmQueueGrowing", [series(m.requests_waiting, "5x30", model_name=model, instance="i1")], "25m", []),
        case("VllmKvCacheHigh", [series(m.kv_cache_usage, "0.95x30", model_name=model, instance="i1")], "15m",
             [expect(facts, "VllmKvCacheHigh", model_name=model, instance="i1")]),
        case("VllmKvCacheHigh", [series(m.kv_cache_usage, "0.5x30", model_name=model, instance="i1")], "15m", []),
        case("VllmTtftP95High", _histogram(m.ttft_seconds, model, slow), "20m",
             [expect(facts, "VllmTtftP95High", model_name=model)]),
        case("VllmTtftP95High", _histogram(m.ttft_seconds, model, fast), "20m", []),
        case("VllmE2eLatencyP99High", _histogram(m.e2e_latency_seconds, model, e2e_slow), "20m",
             [expect(facts, "VllmE2eLatencyP99High", model_name=model)]),
        case("VllmE2eLatencyP99High", _histogram(m.e2e_latency_seconds, model, e2e_fast), "20m", []),
        case("VllmErrorRateHigh", [running, *http("0+1x30")], "20m",
             [expect(facts, "VllmErrorRateHigh", model_name=model)]),
        case("VllmErrorRateHigh", [running, *http("0x30")], "20m", []),
        case("VllmThroughputDrop", [series(m.generation_tokens, drop, model_name=model, instance="i1")], "1500m",
             [expect(facts, "VllmThroughputDrop", model_name=model)]),
        case("VllmThroughputDrop", [series(m.generation_tokens, steady, model_name=model, instance="i1")], "1500m", []),
        # p50: every request in the 2.5-5 s bucket (median ~3.8 s) vs every request under 1 s.
        case("VllmE2eLatencyP50High", _histogram(m.e2e_latency_seconds, model, p50_slow), "20m",
             [expect(facts, "VllmE2eLatencyP50High", model_name=model)]),
        case("VllmE2eLatencyP50High", _histogram(m.e2e_latency_seconds, model, p50_fast), "20m", []),
        # 0.1 s per token = 10 tokens/s (below 20) vs 0.02 s = 50 tokens/s.
        case("VllmTokenSpeedLow", itl(0.1), "30m", [expect(facts, "VllmTokenSpeedLow", model_name=model)]),
        case("VllmTokenSpeedLow", itl(0.02), "30m", []),
        # Two running requests per replica with traffic vs eight; an idle model (no traffic) must not page.
        case("VllmBatchSizeLow", batch(2), "100m", [expect(facts, "VllmBatchSizeLow", model_name=model)]),
        case("VllmBatchSizeLow", batch(8), "100m", []),
        case("VllmBatchSizeLow", batch(2, traffic="0x120"), "100m", []),
        case("VllmModelLoadSlow", pod(1), "5m",
             [expect(facts, "VllmModelLoadSlow", namespace=facts.namespace, pod="p1")]),
        case("VllmModelLoadSlow", pod(0), "5m", []),
    ]


def _price(facts: MonitoringFacts, pool: str, tier: str) -> float:
    return next(usd for p, t, usd in facts.node_prices if (p, t) == (pool, tier))


def recording_cases(facts: MonitoringFacts) -> list[dict]:
    """Cost wiring (catalog price x nodes, $/Mtok) and pool/model attribution via kube_pod_info and VM targets."""
    m, price = facts.metrics, _price(facts, "l40s-use1", "on-demand")
    k8s = [node("n1", "l40s-use1", "on-demand"), series("DCGM_FI_DEV_GPU_UTIL", "40x30", node="n1", gpu="0"),
           series(m.requests_running, "1x30", model_name="llama-8b", namespace="llm", pod="v1"),
           series(m.generation_tokens, "0+60000x30", model_name="llama-8b", namespace="llm", pod="v1"),
           series("kube_pod_info", "1x30", namespace="llm", pod="v1", node="n1")]
    vm = [series("up", "1x30", job="dcgm-exporter", node="i-0abc", pool="l40s-vm", tier="spot")]
    expected_mtok = price / (1000 * 3600 / 1e6)
    return [{"interval": "1m", "input_series": k8s, "promql_expr_test": [
        {"expr": "gpuinfra:pool_hourly_usd", "eval_time": "10m",
         "exp_samples": [{"labels": 'gpuinfra:pool_hourly_usd{pool="l40s-use1"}', "value": price}]},
        {"expr": f"abs(gpuinfra:usd_per_mtok:pool - {expected_mtok!r}) < bool 1e-9", "eval_time": "10m",
         "exp_samples": [{"labels": '{pool="l40s-use1"}', "value": 1}]},
        {"expr": "gpuinfra:gpu_util_pct:pool_model", "eval_time": "10m",
         "exp_samples": [{"labels": 'gpuinfra:gpu_util_pct:pool_model{model_name="llama-8b", pool="l40s-use1"}',
                          "value": 40}]},
    ]}, {"interval": "1m", "input_series": vm, "promql_expr_test": [
        {"expr": "gpuinfra:node_info", "eval_time": "5m",
         "exp_samples": [{"labels": 'gpuinfra:node_info{node="i-0abc", pool="l40s-vm", tier="spot"}', "value": 1}]},
    ]}]


def alert_cases(facts: MonitoringFacts) -> list[dict]:
    """Every alert's firing and non-firing cases."""
    return [*_gpu(facts), *_reservations(facts), *_serving(facts)]
