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
    attention_heads: PositiveInt
    kv_heads: PositiveInt
    head_dim: PositiveInt
    max_context: PositiveInt


class ReplicasSpec(Spec):
    """Replica bounds of a model's deployment (one replica = TP GPUs)."""

    min: NonNegativeInt = 1
    """Minimum replicas; 0 allows scale to zero (cold starts take minutes)."""
    max: PositiveInt = 1

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
    min_replicas: PositiveInt

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
    peak_windows: list[PeakWindowSpec] = Field(default_factory=list)


class CanarySpec(Spec):
    """A second revision of the model taking ``percent`` of traffic."""

    revision: str
    percent: int = Field(ge=0, le=100)
    """Share of traffic (0-100) sent to the canary revision."""
    replicas: PositiveInt = 1


class ModelSpec(Spec):
    """One model to serve, addressed by Hugging Face repo id and pinned revision."""

    name: Name
    """Short alias: Kubernetes names, bucket prefix and the OpenAI ``model`` name clients send."""
    hf_repo: str = Field(pattern=r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
    """Hugging Face repository id, e.g. meta-llama/Llama-3.1-8B-Instruct."""
    revision: str = Field(min_length=1)
    """Pinned revision (commit sha or tag); floating names like 'main' are refused."""
    dtype: WeightDType = "bf16"
    kv_cache_dtype: KvCacheDType = "auto"
    max_model_len: PositiveInt = 8192
    """Context length (prompt + output tokens) each sequence may use."""
    min_concurrency: PositiveInt = 16
    """Sequences of max_model_len tokens one replica must hold in KV cache (fit is mandatory)."""
    gpu_memory_utilization: float = Field(default=0.9, ge=0.5, le=0.98)
    tensor_parallel_size: Literal[1, 2, 4, 8] | None = None
    """GPUs per replica; default: the cheapest feasible choice for the pool's instance type."""
    pools: list[Name] = Field(min_length=1)
    """GPU pools (by name, on any cloud) that serve this model."""
    load_format: Literal["auto", "nvme-cache", "stream"] = "auto"
    """How weights reach the GPU: ``nvme-cache`` (synced once per node to local NVMe), ``stream``
    (run:ai streamer from the bucket); ``auto`` picks by model size."""
    architecture: ArchitectureSpec | None = None
    enable_prefix_caching: bool = True
    replicas: ReplicasSpec = ReplicasSpec()
    autoscaling: AutoscalingSpec = AutoscalingSpec()
    canary: CanarySpec | None = None

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
