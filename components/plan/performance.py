"""Performance model of one vLLM replica: prefill rate, decode step time, and the load it serves within objectives.

Physics (calibrated against published points in catalog benchmarks.yaml; scripts/bench_perf.py prints the error):
    prefill rate (tokens/s)  = TP x dense peak x prefill_mfu / (2 x params)          compute-bound GEMMs
    decode step (s)          = overhead + max(bytes read / (HBM x hbm_efficiency),     memory-bound at small batches
                                              2 x params x batch / TP / (peak x decode_mfu))   compute-bound at large
    bytes read per GPU       = weights / TP + batch x mean context x KV bytes per token per GPU
    overhead                 = step_overhead + layers x tp_overhead_per_layer (TP > 1: two all-reduces per layer)
The peak is the FP8 one for fp8 weights on GPUs with FP8 tensor cores, else bf16 (W8A16 / W4A16 kernels).
Under load prefills share the GPU with decode steps (chunked prefill): with prefill utilisation
rho = rate x input tokens / prefill rate, a decode step stretches to step / (1 - rho) (ITL), and a prefill waits
for the ones ahead of it as in an M/D/1 queue: mean wait rho x s / (2 (1 - rho)), s = input / prefill rate; the
p95 wait takes that queue's tail as exponential: s / (2 (1 - rho)) x ln(rho / 0.05). TTFT = wait + own prefill
+ one step. A sequence's mean context during decode is input + output / 2 (blocks are allocated as it grows).
The batch is bounded by the KV cache (kv_tokens / (input + output)) and by ``--max-num-seqs``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from components.catalog.benchmarks import Calibration, GpuPeak, load_benchmarks
from components.catalog.types import ModelArch
from components.plan.fit import BYTES_PER_PARAM

#: Prefill utilisation above which a replica is called saturated (queues grow without bound near 1).
MAX_PREFILL_UTILISATION = 0.9


@dataclass(frozen=True)
class Load:
    """What one replica does at a load: batch, prefill utilisation, output rate and latencies (seconds)."""

    requests_per_second: float
    batch: float
    prefill_utilisation: float
    output_tok_s: float
    ttft_s: float
    itl_s: float


@dataclass(frozen=True)
class ReplicaModel:
    """One replica (TP GPUs) of a model on one GPU type, with the calibration applied."""

    params: float
    layers: int
    tp: int
    peak_flops: float
    hbm_bytes_per_s: float
    weight_bytes_per_gpu: float
    kv_bytes_per_token_per_gpu: int
    kv_tokens: int
    max_num_seqs: int
    calibration: Calibration

    @property
    def prefill_tokens_per_second(self) -> float:
        """Prompt tokens one replica prefills per second when doing nothing else."""
        return self.tp * self.peak_flops * self.calibration.prefill_mfu / (2 * self.params)

    def step_seconds(self, batch: float, context: float) -> float:
        """One decode step of ``batch`` sequences of mean ``context`` tokens, no prefill in it."""
        c = self.calibration
        read = self.weight_bytes_per_gpu + batch * context * self.kv_bytes_per_token_per_gpu
        memory = read / (self.hbm_bytes_per_s * c.hbm_efficiency)
        compute = 2 * self.params * batch / self.tp / (self.peak_flops * c.decode_mfu)
        overhead = c.step_overhead_ms + (self.layers * c.tp_overhead_ms_per_layer if self.tp > 1 else 0.0)
        return overhead / 1000 + max(memory, compute)

    def batch_cap(self, input_tokens: int, output_tokens: int) -> int:
        """Sequences the replica runs at once: KV cache at full request length, and ``--max-num-seqs``."""
        return max(1, min(self.max_num_seqs, self.kv_tokens // (input_tokens + output_tokens)))

    def _queue(self, rate: float, input_tokens: float) -> tuple[float, float]:
        service = input_tokens / self.prefill_tokens_per_second
        return min(rate * service, 0.999), service

    def closed_loop(self, concurrency: int | None, input_tokens: int, output_tokens: int) -> Load:
        """A benchmark run: ``concurrency`` clients back to back (None: as many as the batch holds)."""
        cap = self.batch_cap(input_tokens, output_tokens)
        batch = cap if concurrency is None else min(concurrency, cap)
        waiting = 0 if concurrency is None else max(0, concurrency - cap)
        step = self.step_seconds(batch, input_tokens + output_tokens / 2)

        def latencies(rate: float) -> tuple[float, float, float]:
            rho, service = self._queue(rate, input_tokens)
            itl = step / (1 - rho)
            return rho, service + rho * service / (2 * (1 - rho)) + itl, itl

        # Little's law: rate = batch / (TTFT + (output - 1) x ITL); latencies grow with the rate, so bisect.
        low, high = 0.0, self.prefill_tokens_per_second / input_tokens
        for _ in range(60):
            mid = (low + high) / 2
            _, ttft, itl = latencies(mid)
            low, high = (mid, high) if mid < batch / (ttft + (output_tokens - 1) * itl) else (low, mid)
        rho, ttft, itl = latencies(low)
        queued = waiting / low if low else 0.0
        return Load(low, batch, rho, low * output_tokens, ttft + queued, itl)

    def open_loop(self, rate: float, input_tokens: int, output_tokens: int, input_p95: int,
                  output_p95: int) -> Load:
        """Poisson arrivals at ``rate`` per second: batch by Little's law, p95 TTFT and ITL."""
        rho, service = self._queue(rate, input_tokens)
        itl = self.step_seconds(1, input_tokens + output_tokens / 2) / (1 - rho)
        batch = 1.0
        for _ in range(60):
            batch = max(1.0, rate * (service + (output_tokens - 1) * itl))
            itl = self.step_seconds(batch, input_tokens + output_tokens / 2) / (1 - rho)
        # p95: the whole batch shares a step, so the ITL tail is the step at p95 context lengths.
        itl_p95 = self.step_seconds(batch, input_p95 + output_p95 / 2) / (1 - rho)
        wait = service / (2 * (1 - rho)) * math.log(rho / 0.05) if rho > 0.05 else 0.0
        ttft_p95 = wait + input_p95 / self.prefill_tokens_per_second + itl_p95
        return Load(rate, batch, rho, rate * output_tokens, ttft_p95, itl_p95)

    def meets(self, load: Load, cap: int, ttft_s: float | None, itl_s: float | None) -> bool:
        """True when ``load`` keeps the batch within the cap, prefill below saturation and both objectives."""
        return (load.batch <= cap and load.prefill_utilisation <= MAX_PREFILL_UTILISATION
                and (ttft_s is None or load.ttft_s <= ttft_s) and (itl_s is None or load.itl_s <= itl_s))

    def capacity(self, input_tokens: int, output_tokens: int, input_p95: int, output_p95: int,
                 ttft_s: float | None, itl_s: float | None) -> Load | None:
        """The highest request rate one replica serves within the objectives (bisection); None if even a trickle
        misses them."""
        cap = self.batch_cap(input_p95, output_p95)
        low, high = 0.0, MAX_PREFILL_UTILISATION * self.prefill_tokens_per_second / input_tokens
        best = None
        for _ in range(50):
            mid = (low + high) / 2
            load = self.open_loop(mid, input_tokens, output_tokens, input_p95, output_p95)
            if self.meets(load, cap, ttft_s, itl_s):
                low, best = mid, load
            else:
                high = mid
        return best


def peak_flops(peak: GpuPeak, dtype: str) -> float:
    """Dense FLOP/s the GEMMs run at: FP8 for fp8 weights where the GPU has FP8 tensor cores, else BF16."""
    tflops = peak.fp8_tflops if dtype == "fp8" and peak.fp8_tflops else peak.bf16_tflops
    return tflops * 1e12


def replica_model(arch: ModelArch, gpu: str, tp: int, dtype: str, kv_bytes_per_token_per_gpu: int,
                  kv_tokens: int, max_num_seqs: int, calibration: Calibration | None = None) -> ReplicaModel | None:
    """The performance model of one replica, or None when benchmarks.yaml has no peaks for ``gpu``.

    Args:
        arch: Model architecture (parameters, layers).
        gpu: Catalog GPU name.
        tp: Tensor-parallel size.
        dtype: Weight dtype (bytes per parameter as in the fit).
        kv_bytes_per_token_per_gpu / kv_tokens: From the fit.
        max_num_seqs: vLLM's ``--max-num-seqs``.
        calibration: Constants to use (default: the shipped calibration).
    """
    data = load_benchmarks()
    peak = data.gpu(gpu)
    if peak is None:
        return None
    return ReplicaModel(
        params=arch.params, layers=arch.layers, tp=tp, peak_flops=peak_flops(peak, dtype),
        hbm_bytes_per_s=peak.hbm_gbps * 1e9, weight_bytes_per_gpu=arch.params * BYTES_PER_PARAM[dtype] / tp,
        kv_bytes_per_token_per_gpu=kv_bytes_per_token_per_gpu, kv_tokens=kv_tokens, max_num_seqs=max_num_seqs,
        calibration=calibration or data.calibration)
