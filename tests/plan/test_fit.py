"""Model fit: vLLM KV arithmetic agrees with serving.md's worked references; TP rules; monotone properties."""

import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.catalog import WEIGHT_DTYPES, ModelArch, load_catalog
from components.plan.fit import DType, fit, fit_on_gpus, kv_bytes_per_token_per_gpu, tp_problem

CATALOG = load_catalog()
H100 = CATALOG.gpu("H100")
LLAMA_8B = CATALOG.model("meta-llama/Llama-3.1-8B-Instruct")
LLAMA_70B = CATALOG.model("meta-llama/Llama-3.1-70B-Instruct")

WORKED_REFERENCES = [
    # (arch, GPUs, TP, dtype, KV tokens, concurrent 8k sequences) from serving.md's planning estimates at
    # utilisation 0.90. Its 70B bf16 TP2 row (about 26k tokens) is left out: it has 2.7 GiB of KV per GPU, so the
    # 0.54 GiB between serving.md's 79.65 GiB and the CUDA total (79.11 GiB) plus CUDA graphs move it by a third;
    # tests/plan/test_fit_vllm.py checks the fit against vLLM's own logs instead.
    (LLAMA_8B, 1, 1, "bf16", 455_000, 55),   # 8B bf16 on 1x H100: about 455k tokens, about 55 sequences
    (LLAMA_70B, 4, 4, "bf16", 483_000, 59),  # 70B bf16 TP4 on 4x H100: about 483k, about 59
    (LLAMA_70B, 2, 2, "fp8", 241_000, 29),   # 70B fp8 weights TP2 on 2x H100: about 241k, about 29
]


@pytest.mark.parametrize("arch, gpus, tp, dtype, tokens, seqs", WORKED_REFERENCES)
def test_worked_references_within_ten_percent(arch, gpus, tp, dtype, tokens, seqs):
    result = fit_on_gpus(arch, H100, gpus, tp, dtype=dtype, max_model_len=8192, concurrency=1)
    assert result.kv_tokens == pytest.approx(tokens, rel=0.10)
    assert result.max_concurrency == pytest.approx(seqs, rel=0.10)
    assert result.kv_tokens % 64 == 0  # whole vLLM v0.34.0 blocks


def test_kv_bytes_per_token_match_serving_md():
    # serving.md: 128 KiB per token for Llama-3.x-8B, 320 KiB for 70B (bf16, whole model)
    assert kv_bytes_per_token_per_gpu(LLAMA_8B, 1) == 128 * 1024
    assert kv_bytes_per_token_per_gpu(LLAMA_70B, 1) == 320 * 1024
    assert kv_bytes_per_token_per_gpu(LLAMA_70B, 4, "fp8") == 320 * 1024 // 8


def test_too_little_kv_for_the_concurrency_names_both_numbers():
    result = fit_on_gpus(LLAMA_70B, H100, 2, 2, dtype="bf16", max_model_len=8192, concurrency=16)
    assert not result.fits
    assert result.reason == "KV capacity 18k tokens holds 2 sequences of 8192, need 16"


@pytest.mark.parametrize("arch, gpus, tp, reason", [
    # 64 query heads cannot be split 3 ways
    (LLAMA_70B, 4, 3, "TP 3 does not divide 64 attention heads"),
    # a replica cannot span more GPUs than the node has
    (LLAMA_70B, 4, 8, "TP 8 exceeds 4 GPUs per node"),
    # Qwen2.5-7B has 28 query heads: TP 8 is refused although 8 GPUs exist
    (CATALOG.model("Qwen/Qwen2.5-7B-Instruct"), 8, 8, "TP 8 does not divide 28 attention heads"),
    # 6 KV heads and TP 4: vLLM neither shards (6 % 4) nor replicates (4 % 6) them
    (ModelArch("custom/mha-48", 7e9, 32, 48, 6, 128, 8192), 4, 4, "TP 4 and 6 KV heads: neither divides the other"),
])
def test_tp_refusals_carry_the_reason(arch, gpus, tp, reason):
    result = fit_on_gpus(arch, H100, gpus, tp, dtype="bf16", max_model_len=4096, concurrency=1)
    assert not result.fits and result.reason == reason


def test_kv_heads_replicate_when_tp_exceeds_them():
    # 2 KV heads at TP 8: each GPU still holds one whole KV head (vLLM replicates), not a quarter of one.
    arch = ModelArch("custom/gqa-2", 14e9, 40, 16, 2, 128, 32768)
    assert kv_bytes_per_token_per_gpu(arch, 8) == kv_bytes_per_token_per_gpu(arch, 2) == 2 * 40 * 1 * 128 * 2


def test_weights_that_do_not_fit_leave_no_kv():
    l4 = CATALOG.instance("aws", "g6.xlarge")
    result = fit(LLAMA_70B, l4, 1, dtype="bf16", max_model_len=8192, concurrency=1)
    assert not result.fits and result.kv_tokens == 0 and result.max_concurrency == 0
    assert result.reason.startswith("weights 131.4 GiB + activations 1.2 GiB + CUDA graphs 1.1 GiB per GPU leave no "
                                    "KV cache in 20.2 GiB (22.48 GiB CUDA total x 0.90)")


def test_context_longer_than_the_model_is_refused():
    gemma = CATALOG.model("google/gemma-2-9b-it")
    result = fit(gemma, CATALOG.instance("aws", "p5.4xlarge"), 1, dtype="bf16", max_model_len=16384, concurrency=1)
    assert result.reason == "max_model_len 16384 exceeds the model's context of 8192"


def test_fp8_on_ampere_is_allowed_with_a_note():
    # vLLM runs fp8 checkpoints weight-only (Marlin W8A16) on A10G: memory as fp8, so the fit counts 1 byte/param.
    result = fit(LLAMA_8B, CATALOG.instance("aws", "g5.xlarge"), 1, dtype="fp8", max_model_len=8192, concurrency=4)
    assert result.fits and result.quantization == "fp8"
    assert "A10G" in result.note and "W8A16" in result.note
    on_l4 = fit(LLAMA_8B, CATALOG.instance("aws", "g6.xlarge"), 1, dtype="fp8", max_model_len=8192, concurrency=4)
    assert on_l4.note == ""


def test_fit_uses_the_instance_shape():
    result = fit(LLAMA_70B, CATALOG.instance("aws", "p5.48xlarge"), 4, dtype="bf16", max_model_len=8192,
                 concurrency=16)
    assert (result.instance_type, result.cloud, result.gpus_per_node, result.replicas_per_node) == (
        "p5.48xlarge", "aws", 8, 2)
    assert result.fits and result.reason == ""


def test_dtype_literal_matches_catalog_dtypes():
    assert typing.get_args(DType) == WEIGHT_DTYPES


def test_invalid_inputs_are_programming_errors():
    with pytest.raises(ValueError, match="dtype 'fp4'"):
        fit_on_gpus(LLAMA_8B, H100, 1, 1, dtype="fp4", max_model_len=8192, concurrency=1)
    with pytest.raises(ValueError, match="gpu_memory_utilization 1.5"):
        fit_on_gpus(LLAMA_8B, H100, 1, 1, dtype="bf16", max_model_len=8192, concurrency=1,
                    gpu_memory_utilization=1.5)


# ---- properties ----

@st.composite
def archs(draw):
    kv = draw(st.sampled_from([1, 2, 4, 8, 16]))
    return ModelArch("prop/model", draw(st.floats(0.5e9, 500e9)), draw(st.integers(1, 128)),
                     kv * draw(st.sampled_from([1, 2, 4, 8])), kv, draw(st.sampled_from([64, 128, 256])), 131072)


gpus_st = st.sampled_from(sorted(CATALOG.gpus.values(), key=lambda g: g.name))
dtypes = st.sampled_from(WEIGHT_DTYPES)
lens = st.sampled_from([1024, 4096, 8192, 32768])


@settings(max_examples=150, deadline=None)
@given(archs(), gpus_st, dtypes, st.sampled_from(["auto", "fp8"]), lens)
def test_higher_tp_never_lowers_kv_capacity_per_replica(arch, gpu, dtype, kv, max_len):
    # Up to the KV heads only: past them every rank replicates the K/V projections (QKVParallelLinear), which can
    # cost a tiny model more than the weights it sheds, so vLLM can lose a block there too.
    kwargs = dict(dtype=dtype, kv_cache_dtype=kv, max_model_len=max_len, concurrency=1)
    # Over TP sizes vLLM would start with and that split the KV heads: once TP exceeds the KV heads every rank
    # holds a replica of the same head, and the per-rank communication buffers (non-torch memory at TP > 1) can
    # then cost more than halving the weights frees, which is real, not a planner defect.
    sizes = [tp for tp in (1, 2, 4, 8) if tp <= arch.kv_heads and not tp_problem(arch, tp, 8)]
    tokens = [fit_on_gpus(arch, gpu, 8, tp, **kwargs).kv_tokens for tp in sizes]
    assert tokens == sorted(tokens)


@settings(max_examples=150, deadline=None)
@given(archs(), gpus_st, st.sampled_from([1, 2, 4, 8]), lens)
def test_fp8_never_needs_more_memory_than_bf16(arch, gpu, tp, max_len):
    kwargs = dict(max_model_len=max_len, concurrency=1)
    bf16 = fit_on_gpus(arch, gpu, 8, tp, dtype="bf16", **kwargs)
    fp8 = fit_on_gpus(arch, gpu, 8, tp, dtype="fp8", kv_cache_dtype="fp8", **kwargs)
    assert fp8.weights_gib_per_gpu < bf16.weights_gib_per_gpu
    assert fp8.kv_bytes_per_token_per_gpu < bf16.kv_bytes_per_token_per_gpu
    assert fp8.kv_tokens >= bf16.kv_tokens
    assert fp8.fits or not bf16.fits  # whatever bf16 fits, fp8 fits


@settings(max_examples=150, deadline=None)
@given(archs(), gpus_st, dtypes, st.sampled_from([1, 2, 4, 8]), lens, st.floats(0.3, 1.0))
def test_kv_is_never_negative_and_no_weights_room_means_no_fit(arch, gpu, dtype, tp, max_len, util):
    result = fit_on_gpus(arch, gpu, 8, tp, dtype=dtype, max_model_len=max_len, concurrency=1,
                         gpu_memory_utilization=util)
    assert result.kv_tokens >= 0 and result.max_concurrency >= 0
    non_kv = result.weights_gib_per_gpu + result.activation_gib + result.cudagraph_gib + result.non_torch_gib
    if non_kv >= gpu.usable_vram_gib * util:
        assert not result.fits and result.kv_tokens == 0
    if result.fits:  # VRAM covers weights + activations + graphs + non-torch + KV for the requested sequences
        used = non_kv + result.kv_tokens * result.kv_bytes_per_token_per_gpu / 1024**3
        assert used <= gpu.usable_vram_gib * util + 1e-9
        assert result.max_concurrency * max_len <= result.kv_tokens
