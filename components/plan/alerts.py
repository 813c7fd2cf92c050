"""GPU and serving alert rules from the stack's thresholds, and the rule groups every Prometheus gets."""
from __future__ import annotations

from dataclasses import dataclass

from components.plan.recording import RULE_INTERVAL_SECONDS, MonitoringFacts, recording_rules

Severity = str  # "critical" pages; "warning" goes to the team channel

#: Hard thresholds named by the seed documents (shared/reference/serving.md, 2026-11).
SATURATION_PCT = 95.0
TEMPERATURE_C = 85.0
KV_CACHE_RATIO = 0.9
THROUGHPUT_DROP = 0.2
MODEL_LOAD_SECONDS = 120
#: Serving objectives the seed documents name (typical values; the spec has no field for them yet):
#: p50 end-to-end latency 2 s, generation speed 20 tokens/s per request, average batch of 4 sequences.
E2E_P50_SECONDS = 2.0
TOKENS_PER_SECOND_MIN = 20.0
BATCH_SIZE_MIN = 4
# GpuMemoryHigh's threshold (MonitoringFacts.memory_ratio) sits 5 points above the largest
# --gpu-memory-utilization of the stack (at least 0.9, at most 0.98): vLLM reserves that share of the
# framebuffer at boot by design (KV cache), so only memory beyond it means a second process or a leak.


@dataclass(frozen=True)
class Alert:
    """One alerting rule with its threshold and operator guidance."""

    name: str
    expr: str
    duration: str
    severity: Severity
    summary: str
    runbook: str
    threshold: str

    def rule(self, owner: str) -> dict:
        """The Prometheus rule-file form."""
        return {"alert": self.name, "expr": " ".join(self.expr.split()), "for": self.duration,
                "labels": {"severity": self.severity, "owner": owner},
                "annotations": {"summary": self.summary, "runbook": self.runbook}}


def _gpu_alerts(f: MonitoringFacts) -> list[Alert]:
    return [
        Alert("GpuIdle", f"avg by (node, pool, tier) (gpuinfra:gpu_util_pct:gpu) < {f.idle_pct}", "1h", "warning",
              "GPUs on {{ $labels.node }} ({{ $labels.pool }}, {{ $labels.tier }}) below "
              f"{f.idle_pct:g}% utilisation for 1h", "Billed GPUs idle: lower the model's min replicas or the "
              "pool's on-demand floor; check the autoscaler scales in.", f"< {f.idle_pct:g}% for 1h"),
        Alert("GpuPoolSaturated", f"gpuinfra:gpu_util_pct:pool > {SATURATION_PCT:g}", "15m", "warning",
              "Pool {{ $labels.pool }} GPUs above " f"{SATURATION_PCT:g}% busy for 15m",
              "Raise max replicas / spot burst; check queue depth and TTFT; add capacity to the ladder.",
              f"> {SATURATION_PCT:g}% for 15m"),
        Alert("GpuMemoryHigh", f"gpuinfra:gpu_memory_used:ratio > {f.memory_ratio}", "10m", "warning",
              "GPU {{ $labels.gpu }} on {{ $labels.node }} framebuffer above " f"{f.memory_ratio:.0%}",
              "Memory beyond vLLM's --gpu-memory-utilization: look for a second process on the GPU (nvidia-smi), "
              "a leak, or lower gpu_memory_utilization.", f"> {f.memory_ratio:.0%} for 10m"),
        Alert("GpuTemperatureHigh", f"max by (node, gpu) (DCGM_FI_DEV_GPU_TEMP) > {TEMPERATURE_C:g}", "5m",
              "critical", "GPU {{ $labels.gpu }} on {{ $labels.node }} at {{ $value }} C (throttling)",
              "Thermal throttling: check DCGM_FI_DEV_POWER_USAGE and clocks; cordon and drain the node, "
              "report the instance to the cloud provider.", f"> {TEMPERATURE_C:g} C for 5m"),
        Alert("GpuXidError", "max by (node, gpu) (max_over_time(DCGM_FI_DEV_XID_ERRORS[10m])) > 0", "0m",
              "critical", "XID {{ $value }} on GPU {{ $labels.gpu }} of {{ $labels.node }}",
              "XID 48/63/64/74/79/94/95 mean a faulty GPU or NVLink: cordon, drain and replace the node "
              "(/health may stay 200); 13/31/43 are usually application faults: check vLLM logs.", "any XID in 10m"),
        Alert("DcgmExporterMissing", "gpuinfra:node_info unless on (node) group by (node) (DCGM_FI_DEV_GPU_UTIL)",
              "15m", "warning", "No DCGM metrics from GPU node {{ $labels.node }} ({{ $labels.pool }})",
              "GPU alerts are blind on this node: check the dcgm-exporter pod tolerates the GPU taint and runs, "
              "its ServiceMonitor carries the Prometheus selector labels, and port 9400 is reachable.",
              "no DCGM series for 15m"),
    ]


def _reservation_alerts(f: MonitoringFacts) -> list[Alert]:
    if not f.reserved_nodes:
        return []  # no reserved or capacity-block rung: nothing billed unused
    reserved = 'tier=~"reserved|capacity-block"'
    return [
        Alert("ReservedGpusIdle", f"avg by (pool, tier) (gpuinfra:gpu_util_pct:gpu{{{reserved}}}) < {f.idle_pct}",
              "1h", "warning", "Reserved GPUs of {{ $labels.pool }} below " f"{f.idle_pct:g}% for 1h",
              "Reservations bill whether used or not: move load onto them (they have the highest autoscaler "
              "priority) before spot, or shrink the reservation at renewal.", f"< {f.idle_pct:g}% for 1h"),
        Alert("ReservationNotConsumed", "gpuinfra:reserved_nodes_expected > on (pool, tier) (count by (pool, tier) "
              "(gpuinfra:node_info) or gpuinfra:reserved_nodes_expected * 0)", "30m", "warning",
              "{{ $labels.pool }} runs fewer {{ $labels.tier }} nodes than reserved",
              "Billed reservation without nodes: check the node group targets the reservation (zone, instance "
              "type, match criteria) and that the capacity block is active.", "fewer nodes than reserved for 30m"),
    ]


def _serving_alerts(f: MonitoringFacts) -> list[Alert]:
    m, ns = f.metrics, f.namespace
    gen_now = f"sum by (model_name) (rate({m.generation_tokens}[30m]))"
    gen_before = f"sum by (model_name) (rate({m.generation_tokens}[30m] offset 1d))"
    return [
        Alert("VllmQueueGrowing", f"sum by (model_name) ({m.requests_waiting}) > 0 and on (model_name) "
              f"sum by (model_name) (deriv({m.requests_waiting}[15m])) > 0", "10m", "warning",
              "{{ $labels.model_name }} queue keeps growing", "Demand exceeds replicas: check the autoscaler "
              "(ScaledObject events, pending pods, GPU quota/spot capacity).", "waiting > 0 and rising over 15m"),
        Alert("VllmKvCacheHigh", f"max by (model_name, instance) ({m.kv_cache_usage}) > {KV_CACHE_RATIO}", "10m",
              "warning", "KV cache of {{ $labels.model_name }} on {{ $labels.instance }} above "
              f"{KV_CACHE_RATIO:.0%}", "Requests get preempted: scale out, lower max_num_seqs/max_model_len, or "
              "use an fp8 KV cache.", f"> {KV_CACHE_RATIO:.0%} for 10m"),
        Alert("VllmTtftP95High", f"gpuinfra:ttft_seconds:p95 > {f.ttft_p95_seconds}", "10m", "warning",
              "p95 time to first token of {{ $labels.model_name }} above " f"{f.ttft_p95_seconds:g}s",
              "Prefill is queueing: check queue depth, KV usage and prompt lengths; scale out.",
              f"> {f.ttft_p95_seconds:g}s for 10m"),
        Alert("VllmE2eLatencyP99High", f"gpuinfra:e2e_latency_seconds:p99 > {f.e2e_p99_seconds}", "10m",
              "warning", "p99 request latency of {{ $labels.model_name }} above " f"{f.e2e_p99_seconds:g}s",
              "Check output lengths, preemptions (vllm:num_preemptions_total) and GPU saturation.",
              f"> {f.e2e_p99_seconds:g}s for 10m"),
        Alert("VllmErrorRateHigh", f"gpuinfra:request_error:ratio > {f.error_rate}", "10m", "critical",
              "{{ $labels.model_name }} answers over " f"{f.error_rate:.2%}" " of requests with 5xx",
              "Check vLLM logs for engine errors/OOM, recent rollouts (roll back the canary) and GPU XIDs.",
              f"> {f.error_rate:.2%} of requests for 10m"),
        Alert("VllmThroughputDrop", f"{gen_now} < {1 - THROUGHPUT_DROP} * {gen_before} and on (model_name) "
              f"{gen_before} > 1", "30m", "warning",
              "{{ $labels.model_name }} generates over " f"{THROUGHPUT_DROP:.0%} fewer tokens/s than a day ago",
              "Compare request rate (demand) with tokens/s per replica: lost replicas, throttled GPUs or a slower "
              "engine version.", f"< {1 - THROUGHPUT_DROP:.0%} of the rate 1 day earlier for 30m"),
        Alert("VllmE2eLatencyP50High", "histogram_quantile(0.5, sum by (model_name, le) "
              f"(rate({m.e2e_latency_seconds}_bucket[5m]))) > {E2E_P50_SECONDS:g}", "10m", "warning",
              "Median request latency of {{ $labels.model_name }} above " f"{E2E_P50_SECONDS:g}s",
              "Typical requests are slow, not just the tail: check queue depth, batch size and output lengths; "
              "scale out or lower max_num_seqs.", f"> {E2E_P50_SECONDS:g}s for 10m"),
        # Mean inter-token latency per model = seconds per generated token of a running request; its inverse
        # is the generation speed one client sees (vLLM v1/metrics/loggers.py, histogram per output token).
        Alert("VllmTokenSpeedLow", f"sum by (model_name) (rate({m.inter_token_latency_seconds}_sum[10m])) / "
              f"sum by (model_name) (rate({m.inter_token_latency_seconds}_count[10m])) > {1 / TOKENS_PER_SECOND_MIN:g}",
              "15m", "warning", "{{ $labels.model_name }} generates fewer than "
              f"{TOKENS_PER_SECOND_MIN:g} tokens/s per request",
              "Decode is slow: batch too large for the GPU (lower max_num_seqs), preemptions, throttled GPUs "
              "or a long prefill stalling decodes (chunked prefill).", f"< {TOKENS_PER_SECOND_MIN:g} tokens/s for 15m"),
        # Running requests are the engine's batch; averaged per replica while the model serves traffic.
        Alert("VllmBatchSizeLow", f"avg by (model_name) (avg_over_time({m.requests_running}[30m])) < {BATCH_SIZE_MIN} "
              f"and on (model_name) sum by (model_name) (rate({m.request_success}[30m])) > 0", "1h", "warning",
              "{{ $labels.model_name }} runs fewer than " f"{BATCH_SIZE_MIN} requests per replica on average",
              "GPUs are under-used: lower min replicas, move the model to a smaller GPU, or route more traffic "
              "to fewer replicas.", f"average batch < {BATCH_SIZE_MIN} for 1h"),
        Alert("VllmModelLoadSlow", f'(time() - max by (namespace, pod) (kube_pod_start_time{{namespace="{ns}"}})) '
              f"> {MODEL_LOAD_SECONDS} and on (namespace, pod) max by (namespace, pod) "
              f'(kube_pod_status_ready{{namespace="{ns}", condition="false"}}) == 1', "1m", "warning",
              "{{ $labels.pod }} not ready " f"{MODEL_LOAD_SECONDS}s after start",
              "Weights load slowly: check the init container (NVMe cache sync) or streamer logs, bucket "
              "throughput and the startup probe budget.", f"not ready > {MODEL_LOAD_SECONDS}s after pod start"),
    ]


def alerts(facts: MonitoringFacts) -> list[Alert]:
    """Every alert of a stack, in a stable order."""
    return [*_gpu_alerts(facts), *_reservation_alerts(facts), *_serving_alerts(facts)]


def rule_groups(facts: MonitoringFacts) -> list[dict]:
    """Recording and alerting rule groups (the ``groups`` of a rule file / PrometheusRule spec)."""
    interval = f"{RULE_INTERVAL_SECONDS}s"
    return [
        {"name": "gpuinfra-recording", "interval": interval, "rules": recording_rules(facts)},
        {"name": "gpuinfra-alerts", "interval": interval, "rules": [a.rule(facts.owner) for a in alerts(facts)]},
    ]


def rule_file(facts: MonitoringFacts) -> dict:
    """A Prometheus rule file (``rule_files:`` / ``promtool check rules``)."""
    return {"groups": rule_groups(facts)}
