"""Served models: which weights, at which precision and context, on which pools, how many replicas."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.spec.base import KvCacheDType, Name, NonNegativeInt, PositiveInt, Spec, WeightDType

FLOATING_REVISIONS = frozenset({"main", "master", "latest", "head"})


class ArchitectureSpec(Spec):
    """Architecture numbers (from the model's config.json) for a model not in the catalog."""

    params: float = Field(gt=0)
    """Total parameters, e.g. 8.03e9."""
    layers: PositiveInt
    """Transformer layers (num_hidden_layers)."""
    attention_heads: PositiveInt
    """Query heads (num_attention_heads)."""
    kv_heads: PositiveInt
    """Key/value heads (num_key_value_heads; fewer than query heads with GQA)."""
    head_dim: PositiveInt
    """Dimension per head (hidden_size / num_attention_heads unless set)."""
    max_context: PositiveInt
    """Longest context the model supports (max_position_embeddings)."""


class ReplicasSpec(Spec):
    """Replica bounds of a model's deployment (one replica = TP GPUs)."""

    min: NonNegativeInt = 1
    """Minimum replicas; 0 allows scale to zero (cold starts take minutes)."""
    max: PositiveInt = 1
    """Maximum replicas; must fit what the pools' ladders can host."""

    @model_validator(mode="after")
    def _order(self) -> "ReplicasSpec":
        if self.min > self.max:
            raise ValueError(f"min {self.min} exceeds max {self.max}")
        return self


class PeakWindowSpec(Spec):
    """A known daily peak: raise the replica floor between two cron times."""

    start: str
    """Cron expression (5 fields) when the window opens, e.g. "0 8 * * 1-5"."""
    end: str
    """Cron expression when it closes."""
    timezone: str = "UTC"
    """IANA time zone of the cron expressions."""
    min_replicas: PositiveInt
    """Replica floor inside the window."""

    @model_validator(mode="after")
    def _cron(self) -> "PeakWindowSpec":
        for key in ("start", "end"):
            if len(getattr(self, key).split()) != 5:
                raise ValueError(f"{key} {getattr(self, key)!r} is not a 5-field cron expression")
        return self


class AutoscalingSpec(Spec):
    """Queue-depth autoscaling of one model (KEDA, or an HPA when KEDA is disabled)."""

    queue_depth_target: PositiveInt = 4
    """Waiting requests per replica (vllm:num_requests_waiting) that trigger one more replica."""
    scale_down_stabilization_seconds: PositiveInt = 900
    """Minimum time before removing replicas (cold starts take minutes: do not flap)."""
    polling_interval_seconds: PositiveInt = 30
    """How often the autoscaler reads the queue metric."""
    peak_windows: list[PeakWindowSpec] = Field(default_factory=list)
    """Known daily peaks that raise the replica floor (KEDA cron triggers)."""


class CanarySpec(Spec):
    """A second revision of the model taking ``percent`` of traffic."""

    revision: str
    """Revision (commit sha or tag) the canary serves."""
    percent: int = Field(ge=0, le=100)
    """Share of traffic (0-100) sent to the canary revision."""
    replicas: PositiveInt = 1
    """Replicas of the canary deployment."""


class ModelSpec(Spec):
    """One model to serve, addressed by Hugging Face repo id and pinned revision."""

    name: Name
    """Short alias: Kubernetes names, bucket prefix and the OpenAI ``model`` name clients send."""
    hf_repo: str = Field(pattern=r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
    """Hugging Face repository id, e.g. meta-llama/Llama-3.1-8B-Instruct."""
    revision: str = Field(min_length=1)
    """Pinned revision (commit sha or tag); floating names like 'main' are refused."""
    dtype: WeightDType = "bf16"
    """Weight precision: bf16/fp16 (2 bytes per parameter), fp8/int8 (1), int4 (0.5, pre-quantized checkpoint)."""
    kv_cache_dtype: KvCacheDType = "auto"
    """KV cache precision: auto (16-bit) or fp8 (half the memory per token)."""
    max_model_len: PositiveInt = 8192
    """Context length (prompt + output tokens) each sequence may use."""
    min_concurrency: PositiveInt = 16
    """Sequences of max_model_len tokens one replica must hold in KV cache (fit is mandatory)."""
    gpu_memory_utilization: float = Field(default=0.9, ge=0.5, le=0.98)
    """Share of GPU memory vLLM may use (weights + activations + KV cache)."""
    tensor_parallel_size: Literal[1, 2, 4, 8] | None = None
    """GPUs per replica; default: the cheapest feasible choice for the pool's instance type."""
    pools: list[Name] = Field(min_length=1)
    """GPU pools (by name, on any cloud) that serve this model."""
    load_format: Literal["auto", "nvme-cache", "stream"] = "auto"
    """How weights reach the GPU: ``nvme-cache`` (synced once per node to local NVMe), ``stream``
    (run:ai streamer from the bucket); ``auto`` picks by model size."""
    architecture: ArchitectureSpec | None = None
    """Architecture numbers for a model the catalog does not know."""
    enable_prefix_caching: bool = True
    """vLLM automatic prefix caching (reuses KV blocks of shared prompt prefixes)."""
    replicas: ReplicasSpec = ReplicasSpec()
    """Replica bounds."""
    autoscaling: AutoscalingSpec = AutoscalingSpec()
    """Queue-depth autoscaling."""
    canary: CanarySpec | None = None
    """A canary revision taking a share of traffic; remove it to roll back, promote by setting revision."""

    @field_validator("revision")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if value.lower() in FLOATING_REVISIONS:
            raise ValueError(f"{value!r} floats; pin a commit sha or a release tag")
        return value

    @model_validator(mode="after")
    def _canary(self) -> "ModelSpec":
        if self.canary and self.canary.revision == self.revision:
            raise ValueError("canary.revision equals the model's revision")
        return self
