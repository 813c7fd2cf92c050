"""vLLM engine arguments derived from a model fit (the same numbers the sizing used)."""

from __future__ import annotations

from components.catalog import ModelArch
from components.plan.fit import DType, FitResult, KvDType

MAX_NUM_SEQS_CAP = 256  # vLLM's long-standing default for --max-num-seqs
_TORCH_DTYPE = {"bf16": "bfloat16", "fp16": "float16"}


def _agree(name: str, given: object, sized: object) -> None:
    if given is not None and given != sized:
        raise ValueError(f"{name} {given!r} differs from the fit's {sized!r}: size again with {name}={given!r}")


def max_num_seqs(fit_result: FitResult, cap: int = MAX_NUM_SEQS_CAP) -> int:
    """--max-num-seqs: the worst-case full-length concurrency, capped, but never below the target concurrency.

    KV capacity is counted with every sequence at max_model_len; real sequences are shorter, so vLLM can run
    more at once. The cap keeps a huge KV cache from admitting a batch the scheduler cannot serve fast enough.
    """
    return max(min(fit_result.max_concurrency, cap), fit_result.concurrency)


def engine_args(model: ModelArch | str, fit_result: FitResult, *, served_model_name: str | None = None,
                dtype: DType | None = None, kv_cache_dtype: KvDType | None = None, max_model_len: int | None = None,
                enable_prefix_caching: bool = True, quantization: str | None = None) -> list[str]:
    """Builds vLLM's command-line arguments, in a fixed order, for a configuration that fits.

    dtype / kv_cache_dtype / max_model_len default to the fit's values; passing a different value is an error
    (the engine must run what was sized). Weight dtypes map to flags as follows:
      bf16 / fp16: `--dtype bfloat16|float16`.
      fp8: `--quantization fp8` (vLLM quantizes a 16-bit checkpoint at load; pre-quantized fp8 checkpoints are
        detected from config.json either way).
      int8 / int4: need a pre-quantized checkpoint (AWQ, GPTQ, compressed-tensors); vLLM reads the method from
        its config.json, so nothing is emitted unless `quantization` overrides it (e.g. "awq").

    Args:
        model: Architecture or Hugging Face repo id (the value of --model).
        fit_result: A fitting result from fit() / fit_on_gpus().
        served_model_name: Name clients use; defaults to the repo id.
        dtype: Weight dtype (must match the fit).
        kv_cache_dtype: KV cache dtype (must match the fit); "fp8" adds `--kv-cache-dtype fp8`.
        max_model_len: Context length (must match the fit).
        enable_prefix_caching: Adds `--enable-prefix-caching`.
        quantization: Explicit --quantization value (overrides the one implied by dtype).

    Raises:
        ValueError: the fit does not fit, or an argument contradicts it.
    """
    if not fit_result.fits:
        raise ValueError(f"no engine arguments for a configuration that does not fit: {fit_result.reason}")
    _agree("dtype", dtype, fit_result.dtype)
    _agree("kv_cache_dtype", kv_cache_dtype, fit_result.kv_cache_dtype)
    _agree("max_model_len", max_model_len, fit_result.max_model_len)
    repo = model.hf_repo if isinstance(model, ModelArch) else model
    args = [
        "--model", repo,
        "--served-model-name", served_model_name or repo,
        "--tensor-parallel-size", str(fit_result.tp),
        "--max-model-len", str(fit_result.max_model_len),
        "--gpu-memory-utilization", f"{fit_result.gpu_memory_utilization:g}",
        "--max-num-seqs", str(max_num_seqs(fit_result)),
    ]
    if fit_result.dtype in _TORCH_DTYPE:
        args += ["--dtype", _TORCH_DTYPE[fit_result.dtype]]
    method = quantization or fit_result.quantization
    if method:
        args += ["--quantization", method]
    if fit_result.kv_cache_dtype == "fp8":
        args += ["--kv-cache-dtype", "fp8"]
    if enable_prefix_caching:
        args.append("--enable-prefix-caching")
    return args
