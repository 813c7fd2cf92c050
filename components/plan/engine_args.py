"""vLLM engine arguments as one typed value, derived from a model fit and rendered once to argv."""

from __future__ import annotations

from dataclasses import dataclass, replace

from components.catalog import ModelArch
from components.plan.fit import DType, FitResult, KvDType

MAX_NUM_SEQS_CAP = 256  # vLLM's long-standing default for --max-num-seqs
_TORCH_DTYPE = {"bf16": "bfloat16", "fp16": "float16"}


@dataclass(frozen=True)
class EngineArgs:
    """Every argument of ``vllm serve`` the toolkit sets; :meth:`argv` is the only rendering.

    Kubernetes and the VM boot script change a field with :meth:`with_` (``model`` becomes the local copy or the
    bucket URI, the router adds its alias to ``served_model_names``); nothing edits a rendered list by position.

    Attributes:
        model: What vLLM loads: a Hugging Face repo id, a local directory or a bucket URI (streamer).
        served_model_names: Names clients send as ``model``; the first one labels vLLM's metrics.
        tensor_parallel_size / max_model_len / gpu_memory_utilization / max_num_seqs: The sized values.
        dtype: ``bfloat16`` / ``float16``, or None (quantized checkpoints carry their own).
        quantization: ``--quantization`` method, or None (read from the checkpoint's config.json).
        kv_cache_dtype: ``fp8`` or None (the model's dtype).
        enable_prefix_caching: Adds ``--enable-prefix-caching``.
        load_format / model_loader_extra_config: Streaming from a bucket (``runai_streamer``), else None.
        port: HTTP port, or None (vLLM's default 8000).
        shutdown_timeout: Seconds vLLM drains in-flight requests after SIGTERM, or None.
    """

    model: str
    served_model_names: tuple[str, ...]
    tensor_parallel_size: int
    max_model_len: int
    gpu_memory_utilization: float
    max_num_seqs: int
    dtype: str | None = None
    quantization: str | None = None
    kv_cache_dtype: str | None = None
    enable_prefix_caching: bool = True
    load_format: str | None = None
    model_loader_extra_config: str | None = None
    port: int | None = None
    shutdown_timeout: int | None = None

    def with_(self, **changes: object) -> "EngineArgs":
        """A copy with ``changes`` applied (field names as above)."""
        return replace(self, **changes)

    def argv(self) -> list[str]:
        """The arguments after ``vllm serve``, in a fixed order (stable manifests, stable user data)."""
        out = ["--model", self.model, "--served-model-name", *self.served_model_names,
               "--tensor-parallel-size", str(self.tensor_parallel_size), "--max-model-len", str(self.max_model_len),
               "--gpu-memory-utilization", f"{self.gpu_memory_utilization:g}", "--max-num-seqs", str(self.max_num_seqs)]
        optional = (("--dtype", self.dtype), ("--quantization", self.quantization),
                    ("--kv-cache-dtype", self.kv_cache_dtype))
        out += [x for flag, value in optional if value for x in (flag, value)]
        if self.enable_prefix_caching:
            out.append("--enable-prefix-caching")
        tail = (("--load-format", self.load_format), ("--model-loader-extra-config", self.model_loader_extra_config),
                ("--port", self.port), ("--shutdown-timeout", self.shutdown_timeout))
        out += [x for flag, value in tail if value is not None for x in (flag, str(value))]
        return out


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
                enable_prefix_caching: bool = True, quantization: str | None = None) -> EngineArgs:
    """Builds vLLM's arguments for a configuration that fits (render them with ``EngineArgs.argv``).

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
    return EngineArgs(
        model=repo, served_model_names=(served_model_name or repo,), tensor_parallel_size=fit_result.tp,
        max_model_len=fit_result.max_model_len, gpu_memory_utilization=fit_result.gpu_memory_utilization,
        max_num_seqs=max_num_seqs(fit_result), dtype=_TORCH_DTYPE.get(fit_result.dtype),
        quantization=quantization or fit_result.quantization or None,
        kv_cache_dtype="fp8" if fit_result.kv_cache_dtype == "fp8" else None,
        enable_prefix_caching=enable_prefix_caching)
