"""Model fit: does a model fit a GPU shape under vLLM, and how many tokens of KV cache remain.

The memory arithmetic is the pinned vLLM version's, per GPU (components/plan/fit_memory.py, with sources):
    KV budget = min(CUDA total x gpu_memory_utilization - non-KV, device headroom - margin) - activation peak,
    non-KV = weights + CUDA graphs + non-torch allocations; weights from the checkpoint's real size where the
    catalog knows it, else parameters x bytes with embeddings and lm_head at 16 bits in quantized weights;
    the activation peak from the architecture (hidden size, intermediate size per TP rank, max_num_batched_tokens,
    vocabulary x max_num_seqs for the sampler).
    KV bytes per token per GPU = 2 (K and V) x layers x KV heads per GPU x head_dim x KV dtype bytes
    KV tokens = budget / KV bytes per token, rounded down to vLLM's 64-token blocks (v0.34.0 default)
    max concurrency = KV tokens // max_model_len (every sequence at full length: the worst case)
vLLM refuses to start when the budget is empty or holds less than one max_model_len sequence; so does the fit.

Tensor parallelism (vLLM's rules): TP must divide the attention (query) heads
(ModelConfig.verify_with_parallel_config), and either TP divides the KV heads (each GPU holds kv_heads / TP)
or the KV heads divide TP (each GPU holds one KV head, replicated TP / kv_heads times; QKVParallelLinear).
So per-GPU KV heads = max(1, kv_heads // TP). TP must not exceed the GPUs of one node (no multi-node TP here).

fp8 weights on GPUs without FP8 tensor cores (Ampere: A10G, A100) are allowed: vLLM runs them weight-only
(FP8 Marlin, W8A16) with fp8's memory footprint but roughly bf16 speed; FitResult.note says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from components.catalog.types import GpuModel, InstanceType, ModelArch
from components.plan.fit_memory import (
    BLOCK_TOKENS, BYTES_PER_PARAM, GIB, EngineMemory, MemoryBudget, activation_gib, memory_budget,
    weights_gib_per_gpu,
)
from components.catalog.vocab import Cloud

DType = Literal["bf16", "fp16", "fp8", "int8", "int4"]
KvDType = Literal["auto", "fp8"]

# "auto" = the model's 16-bit dtype (fp8/int weights still keep a 16-bit KV cache unless asked otherwise).
KV_BYTES: dict[str, int] = {"auto": 2, "fp8": 1}
__all__ = ["BLOCK_TOKENS", "BYTES_PER_PARAM", "GIB", "KV_BYTES", "DType", "EngineMemory", "FitResult", "KvDType",
           "activation_gib", "fit", "fit_on_gpus", "kv_bytes_per_token_per_gpu", "tp_problem", "weights_gib_per_gpu"]


@dataclass(frozen=True)
class FitResult:
    """Outcome of sizing one model on one GPU shape at one tensor-parallel size.

    Attributes:
        instance_type / cloud: The node, None when sized on bare GPUs (fit_on_gpus).
        replicas_per_node: Engine replicas one node holds (GPUs // TP).
        usable_vram_gib: The GPU's CUDA-reported total, GiB (what gpu_memory_utilization multiplies).
        weights_gib_per_gpu / activation_gib / cudagraph_gib / non_torch_gib / kv_gib_per_gpu: GiB per GPU
            (activation_gib: the profile run's peak at max_num_batched_tokens).
        max_num_batched_tokens: Tokens of vLLM's profile run (its default for the GPU unless overridden).
        kv_bytes_per_token_per_gpu: KV cache bytes one token takes on each GPU.
        kv_tokens: KV cache capacity of one replica, tokens (whole 64-token blocks, vLLM v0.34.0).
        max_concurrency: Sequences of max_model_len one replica holds at once (kv_tokens // max_model_len).
        fits: True when a replica starts and holds `concurrency` full-length sequences.
        reason: "" when it fits, else the first reason it does not.
        quantization: vLLM --quantization value implied by dtype ("fp8") or None.
        note: Caveats that do not block the fit ("" when none).
    """

    model: str
    instance_type: str | None
    cloud: Cloud | None
    gpu: str
    gpus_per_node: int
    tp: int
    replicas_per_node: int
    usable_vram_gib: float
    weights_gib_per_gpu: float
    activation_gib: float
    kv_bytes_per_token_per_gpu: int
    kv_gib_per_gpu: float
    kv_tokens: int
    max_concurrency: int
    fits: bool
    reason: str
    dtype: DType
    kv_cache_dtype: KvDType
    max_model_len: int
    concurrency: int
    gpu_memory_utilization: float
    quantization: str | None
    note: str = ""
    cudagraph_gib: float = 0.0
    non_torch_gib: float = 0.0
    max_num_batched_tokens: int = 0


def kv_bytes_per_token_per_gpu(arch: ModelArch, tp: int, kv_cache_dtype: KvDType = "auto") -> int:
    """KV cache bytes per token on each GPU; KV heads are replicated when TP exceeds them."""
    heads_per_gpu = max(1, arch.kv_heads // tp)
    return 2 * arch.layers * heads_per_gpu * arch.head_dim * KV_BYTES[kv_cache_dtype]


def tp_problem(arch: ModelArch, tp: int, gpus: int) -> str:
    """Returns why vLLM cannot run this TP size on this many GPUs, "" when it can."""
    if tp > gpus:
        return f"TP {tp} exceeds {gpus} GPUs per node"
    if arch.attention_heads % tp:
        return f"TP {tp} does not divide {arch.attention_heads} attention heads"
    if arch.kv_heads % tp and tp % arch.kv_heads:
        return f"TP {tp} and {arch.kv_heads} KV heads: neither divides the other"
    return ""


def _tokens(n: int) -> str:
    return f"{n / 1000:.0f}k" if n >= 10_000 else str(n)


def _check_inputs(dtype: str, kv_cache_dtype: str, tp: int, gpus: int, max_model_len: int, concurrency: int,
                  util: float) -> None:
    if dtype not in BYTES_PER_PARAM:
        raise ValueError(f"dtype {dtype!r} is not one of {sorted(BYTES_PER_PARAM)}")
    if kv_cache_dtype not in KV_BYTES:
        raise ValueError(f"kv_cache_dtype {kv_cache_dtype!r} is not one of {sorted(KV_BYTES)}")
    if min(tp, gpus, max_model_len, concurrency) < 1:
        raise ValueError("tp, gpus, max_model_len and concurrency must be >= 1")
    if not 0 < util <= 1:
        raise ValueError(f"gpu_memory_utilization {util} must be in (0, 1]")


def _problem(arch: ModelArch, gpu: GpuModel, gpus: int, tp: int, max_model_len: int, concurrency: int,
             budget: MemoryBudget, kv_tokens: int, util: float) -> str:
    """The first reason vLLM would refuse this replica (or it could not hold `concurrency`), "" when none."""
    reason = tp_problem(arch, tp, gpus)
    if not reason and max_model_len > arch.max_context:
        reason = f"max_model_len {max_model_len} exceeds the model's context of {arch.max_context}"
    if not reason and budget.kv_gib <= 0:
        reason = (f"weights {budget.weights_gib:.1f} GiB + activations {budget.activation_gib:.1f} GiB + CUDA graphs "
                  f"{budget.cudagraph_gib:.1f} GiB per GPU leave no KV cache in {budget.requested_gib:.1f} GiB "
                  f"({gpu.usable_vram_gib:.2f} GiB CUDA total x {util:.2f})")
    if not reason and kv_tokens < max_model_len:
        reason = (f"KV capacity {_tokens(kv_tokens)} tokens cannot hold one sequence of {max_model_len} "
                  "(vLLM refuses to start)")
    max_concurrency = kv_tokens // max_model_len
    if not reason and max_concurrency < concurrency:
        plural = "s" if max_concurrency != 1 else ""
        reason = (f"KV capacity {_tokens(kv_tokens)} tokens holds {max_concurrency} sequence{plural} of "
                  f"{max_model_len}, need {concurrency}")
    return reason


def fit_on_gpus(arch: ModelArch, gpu: GpuModel, gpus: int, tp: int, *, dtype: DType,
                kv_cache_dtype: KvDType = "auto", max_model_len: int, concurrency: int,
                gpu_memory_utilization: float = 0.9, instance_type: str | None = None,
                cloud: Cloud | None = None, engine: EngineMemory = EngineMemory()) -> FitResult:
    """Sizes a model on `gpus` GPUs of one model at tensor-parallel size `tp`.

    Args:
        arch: Model architecture.
        gpu: GPU model (its usable VRAM is the CUDA-reported total).
        gpus: GPUs in the node; replicas per node = gpus // tp.
        tp: Tensor-parallel size (GPUs per replica).
        dtype: Weight dtype.
        kv_cache_dtype: "auto" (16-bit) or "fp8".
        max_model_len: Context length vLLM reserves per sequence, tokens.
        concurrency: Full-length sequences each replica must hold at once.
        gpu_memory_utilization: vLLM's fraction of GPU memory it may use (default 0.9).
        instance_type: Node name for the result, if any.
        cloud: Cloud for the result, if any.
        engine: max_num_batched_tokens / max_num_seqs / accounting overrides (default: the pinned vLLM's).

    Raises:
        ValueError: a programming error (unknown dtype, non-positive sizes, utilisation outside (0, 1]).
    """
    _check_inputs(dtype, kv_cache_dtype, tp, gpus, max_model_len, concurrency, gpu_memory_utilization)
    budget = memory_budget(arch, gpu, tp, dtype=dtype, gpu_memory_utilization=gpu_memory_utilization,
                           concurrency=concurrency, engine=engine)
    per_token = kv_bytes_per_token_per_gpu(arch, tp, kv_cache_dtype)
    kv_tokens = math.floor(budget.kv_gib * GIB / per_token) // BLOCK_TOKENS * BLOCK_TOKENS
    reason = _problem(arch, gpu, gpus, tp, max_model_len, concurrency, budget, kv_tokens, gpu_memory_utilization)
    note = ""
    if dtype == "fp8" and not gpu.fp8:
        note = (f"{gpu.name} has no FP8 tensor cores: vLLM runs fp8 weights weight-only (FP8 Marlin, W8A16), "
                "fp8 memory at roughly bf16 speed")
    return FitResult(
        model=arch.hf_repo, instance_type=instance_type, cloud=cloud, gpu=gpu.name, gpus_per_node=gpus, tp=tp,
        replicas_per_node=gpus // tp, usable_vram_gib=gpu.usable_vram_gib, weights_gib_per_gpu=budget.weights_gib,
        activation_gib=budget.activation_gib, kv_bytes_per_token_per_gpu=per_token, kv_gib_per_gpu=budget.kv_gib,
        kv_tokens=kv_tokens, max_concurrency=kv_tokens // max_model_len, fits=not reason, reason=reason,
        dtype=dtype, kv_cache_dtype=kv_cache_dtype, max_model_len=max_model_len, concurrency=concurrency,
        gpu_memory_utilization=gpu_memory_utilization, quantization="fp8" if dtype == "fp8" else None, note=note,
        cudagraph_gib=budget.cudagraph_gib, non_torch_gib=budget.non_torch_gib,
        max_num_batched_tokens=budget.max_num_batched_tokens,
    )


def fit(arch: ModelArch, instance: InstanceType, tp: int, *, dtype: DType, kv_cache_dtype: KvDType = "auto",
        max_model_len: int, concurrency: int, gpu_memory_utilization: float = 0.9) -> FitResult:
    """Sizes a model on one catalog node at tensor-parallel size `tp` (see fit_on_gpus for arguments)."""
    return fit_on_gpus(arch, instance.gpu, instance.gpu_count, tp, dtype=dtype, kv_cache_dtype=kv_cache_dtype,
                       max_model_len=max_model_len, concurrency=concurrency,
                       gpu_memory_utilization=gpu_memory_utilization, instance_type=instance.name,
                       cloud=instance.cloud)
