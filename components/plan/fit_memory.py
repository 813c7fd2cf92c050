"""Per-GPU memory budget of one vLLM replica at boot: weights, activation peak, CUDA graphs, KV cache.

Follows the pinned vLLM v0.34.0 (versions.yaml; read from the PyPI wheel vllm-0.34.0, 2026-12-03):
- vllm/v1/worker/utils.py request_memory: requested = ceil(CUDA total memory x gpu_memory_utilization).
- vllm/v1/worker/extensible_kv_cache.py measure_kv_cache_bytes (the default on CUDA, config/cache.py
  enable_extensible_kv_cache): the cache is sized after warmup AND CUDA graph capture, so graph memory is part of
  non_kv_used = weights + CUDA graphs + non-torch allocations; available = min(requested - non_kv_used,
  device headroom - max(1 GiB, 0.75 x transient peak)) - transient peak. With the extensible cache off,
  v1/worker/gpu_worker.py determine_available_memory subtracts the same terms (cudagraph_memory_estimate,
  VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1 by default since v0.21.0). Before v0.21.0 the budget was
  requested - (weights + activation peak + non-torch): graphs came out of the (1 - utilisation) slack and no
  device-headroom margin applied (legacy_accounting=True reproduces logs of those versions).
- The transient peak is the profile run (v1/worker/gpu/model_runner.py profile_run): one forward pass of
  max_num_batched_tokens tokens, then the sampler over min(max_num_seqs, tokens) rows of full-vocabulary logits.
- engine/arg_utils.py get_batch_defaults (API server): max_num_batched_tokens 16384 on GPUs with >= 160 GiB,
  8192 on >= 70 GiB except A100, else 2048; config/cache.py DEFAULT_BLOCK_SIZE = 64 tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from components.catalog.types import GpuModel, ModelArch

GIB = 1024**3
# int4: 0.5 plus 4% for group-wise scales and zero points (AWQ/GPTQ group size 128 with an fp16 scale and a 4-bit
# zero: 20 bits / 128 weights = 0.16 bit per 4-bit weight).
BYTES_PER_PARAM: dict[str, float] = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5 * 1.04}
QUANTIZED = frozenset({"fp8", "int8", "int4"})
BLOCK_TOKENS = 64  # v0.34.0 config/cache.py CacheConfig.DEFAULT_BLOCK_SIZE
FALLBACK_VOCAB = 128_256  # logits rows for an architecture without vocab_size (Llama 3's; conservative)
# The sampler's peak per logit, bytes: 40 reproduces the sampler-bound profile peak vLLM logged for Llama-3-8B
# (1.26 GiB at 256 rows x 128,256 logits, TP 1 and TP 2 alike: github.com/vllm-project/vllm/pull/10511,
# 2024-12-13); model-dtype logits, their fp32 copy, probabilities and sort buffers together.
SAMPLER_BYTES_PER_LOGIT = 40
# Forward activations per token: 3 hidden-size vectors (residual, hidden, normed input) plus the MLP's gate/up
# output and activation (3 x intermediate / TP), 2 bytes each. Reproduces vLLM's logged forward-bound peaks for
# Llama-3.1-8B: 2.07 GiB at 20,000 tokens and 2.99 GiB at 29,000 (github.com/vllm-project/vllm/issues/10517).
ACTIVATION_BYTES = 2
# CUDA graphs (piecewise + full, up to 512 tokens): a planning line, conservative against the published captures
# (0.21 GiB for a 16-layer 1B model, github.com/vllm-project/vllm/pull/11349; 0.41 GiB for a 64-layer 27B,
# github.com/Tanguille/cluster/pull/4670): 0.25 GiB + 0.01 GiB per layer.
CUDAGRAPH_BASE_GIB = 0.25
CUDAGRAPH_GIB_PER_LAYER = 0.01
# Allocations outside torch (cuBLAS workspaces; NCCL and custom all-reduce buffers with TP): 0.16 to 0.35 GiB at
# TP 1 in vLLM's logs (issues/10517 0.35, pull/14447 0.20, gateway-api-inference-extension pull/550 0.16), 0.25 to
# 0.30 at TP 2 (issues/13061, issues/15815).
NON_TORCH_GIB = {1: 0.35}
NON_TORCH_GIB_TP = 0.5
# Memory taken before vLLM's start-up snapshot (CUDA context): outside the utilisation budget, but not free for
# the device-headroom cap (~400 MiB per GPU before loading: github.com/Sandermage/genesis-vllm-patches/issues/24).
CUDA_CONTEXT_GIB = 0.5
MARGIN_FLOOR_GIB = 1.0  # extensible_kv_cache.py KV_CACHE_MARGIN_FLOOR_BYTES on CUDA
MARGIN_FRACTION = 0.75  # extensible_kv_cache.py KV_CACHE_MARGIN_FRACTION
DEFAULT_MAX_NUM_SEQS = 256  # engine_args.MAX_NUM_SEQS_CAP: the plan passes at most this unless concurrency is higher


@dataclass(frozen=True)
class EngineMemory:
    """Engine settings that move the budget (None: the pinned version's default for the GPU)."""

    max_num_batched_tokens: int | None = None
    max_num_seqs: int | None = None
    legacy_accounting: bool = False


@dataclass(frozen=True)
class MemoryBudget:
    """One GPU's budget, GiB: requested = total x utilisation; kv = what is left for the KV cache (>= 0)."""

    total_gib: float
    requested_gib: float
    weights_gib: float
    activation_gib: float
    cudagraph_gib: float
    non_torch_gib: float
    kv_gib: float
    max_num_batched_tokens: int
    max_num_seqs: int

    @property
    def non_kv_gib(self) -> float:
        """Everything but the KV cache."""
        return self.weights_gib + self.activation_gib + self.cudagraph_gib + self.non_torch_gib


def _hidden(arch: ModelArch) -> int:
    return arch.hidden_size or arch.attention_heads * arch.head_dim


def embedding_params(arch: ModelArch) -> float:
    """Parameters of the input embedding and lm_head (once when tied); 0 when the vocabulary is unknown."""
    if not arch.vocab_size:
        return 0.0
    return arch.vocab_size * _hidden(arch) * (1 if arch.tie_word_embeddings else 2)


def weights_gib_per_gpu(arch: ModelArch, dtype: str, tp: int) -> float:
    """Weights on each GPU, GiB.

    The checkpoint's published size when the catalog knows it for this dtype; otherwise parameters x bytes, with
    the embeddings and lm_head kept at 16 bits in quantized weights (v0.34.0
    model_executor/layers/quantization/fp8.py Fp8Config.get_quant_method quantizes LinearBase and RoutedExperts
    only, so VocabParallelEmbedding and ParallelLMHead stay unquantized), plus the K/V projections each rank
    replicates when TP exceeds the KV heads.
    """
    if arch.checkpoint_gib and dtype == arch.checkpoint_dtype:
        return arch.checkpoint_gib / tp
    per_param = BYTES_PER_PARAM[dtype]
    embed = min(embedding_params(arch), arch.params)
    embed_bytes = 2.0 if dtype in QUANTIZED else per_param
    total = (arch.params - embed) * per_param + embed * embed_bytes
    kv_share = arch.kv_heads / tp
    replicated = arch.layers * 2 * _hidden(arch) * arch.head_dim * (max(1.0, kv_share) - kv_share) * per_param
    return (total / tp + replicated) / GIB


def default_max_num_batched_tokens(gpu: GpuModel) -> int:
    """vLLM's API-server default for this GPU (engine/arg_utils.py get_batch_defaults at v0.34.0)."""
    if gpu.usable_vram_mib * 2**20 >= 160 * GIB:
        return 16384
    if gpu.usable_vram_mib * 2**20 >= 70 * GIB and "a100" not in gpu.name.lower():
        return 8192
    return 2048


def activation_gib(arch: ModelArch, tp: int, batched_tokens: int, max_num_seqs: int) -> float:
    """Profile-run peak per GPU, GiB: the larger of the forward pass and the sampler (they run one after the other).

    Forward: tokens x (3 x hidden + the wider of the MLP (gate/up + activation, per expert routed to) and the
    attention projections (q, k, v and output per TP rank)) x 2 bytes. Sampler: rows x vocabulary x 40 bytes.
    """
    hidden = _hidden(arch)
    intermediate = (arch.intermediate_size or 4 * hidden) / tp
    mlp = arch.experts_per_token * (3 * intermediate + (hidden if arch.experts > 1 else 0))
    heads, kv = arch.attention_heads / tp, max(1.0, arch.kv_heads / tp)
    attention = (2 * heads + 2 * kv) * arch.head_dim
    forward = batched_tokens * (3 * hidden + max(mlp, attention)) * ACTIVATION_BYTES
    rows = min(max_num_seqs, batched_tokens)
    sampler = rows * (arch.vocab_size or FALLBACK_VOCAB) * SAMPLER_BYTES_PER_LOGIT + rows * hidden * 2
    return max(forward, sampler) / GIB


def cudagraph_gib(arch: ModelArch) -> float:
    """Planning estimate of the CUDA graph pool per GPU, GiB (see CUDAGRAPH_*)."""
    return CUDAGRAPH_BASE_GIB + CUDAGRAPH_GIB_PER_LAYER * arch.layers


def memory_budget(arch: ModelArch, gpu: GpuModel, tp: int, *, dtype: str, gpu_memory_utilization: float,
                  concurrency: int = 1, engine: EngineMemory = EngineMemory()) -> MemoryBudget:
    """What vLLM leaves for the KV cache on each GPU of a replica (module docstring: the v0.34.0 accounting).

    Args:
        arch: Model architecture.
        gpu: GPU model; its usable_vram_mib is the CUDA total.
        tp: Tensor-parallel size.
        dtype: Weight dtype.
        gpu_memory_utilization: --gpu-memory-utilization.
        concurrency: Sequences the replica must hold (max_num_seqs is never below it).
        engine: Batch sizes and accounting overrides (defaults: the pinned version's).
    """
    total = gpu.usable_vram_mib * 2**20 / GIB
    requested = math.ceil(total * GIB * gpu_memory_utilization) / GIB
    tokens = engine.max_num_batched_tokens or default_max_num_batched_tokens(gpu)
    seqs = engine.max_num_seqs or max(DEFAULT_MAX_NUM_SEQS, concurrency)
    weights = weights_gib_per_gpu(arch, dtype, tp)
    activations = activation_gib(arch, tp, tokens, seqs)
    graphs = 0.0 if engine.legacy_accounting else cudagraph_gib(arch)
    non_torch = NON_TORCH_GIB.get(tp, NON_TORCH_GIB_TP)
    non_kv = weights + graphs + non_torch
    headroom = total - CUDA_CONTEXT_GIB - non_kv - max(MARGIN_FLOOR_GIB, MARGIN_FRACTION * activations)
    cap = requested - non_kv if engine.legacy_accounting else min(requested - non_kv, headroom)
    kv = max(0.0, cap - activations)
    return MemoryBudget(total_gib=total, requested_gib=requested, weights_gib=weights, activation_gib=activations,
                        cudagraph_gib=graphs, non_torch_gib=non_torch, kv_gib=kv, max_num_batched_tokens=tokens,
                        max_num_seqs=seqs)
