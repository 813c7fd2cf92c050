"""Served models: which weights, at which precision and context, on which pools, how many replicas."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from components.spec import values as v
from components.spec.base import KvCacheDType, Name, Replicas, Spec, Tokens, WeightDType
from components.spec.schedule import Cron, TimeZone
from components.spec.traffic import TrafficSpec
from components.spec.values import Revision

FLOATING_REVISIONS = frozenset({"main", "master", "latest", "head"})


class ArchitectureSpec(Spec):
    """Architecture numbers (from the model's config.json) for a model not in the catalog."""

    params: float = Field(ge=1e6, le=1e13)
    """Total parameters, e.g. 8.03e9 (1e6 to 1e13)."""
    layers: int = Field(ge=1, le=1024)
    """Transformer layers (num_hidden_layers, 1-1024)."""
    attention_heads: int = Field(ge=1, le=1024)
    """Query heads (num_attention_heads, 1-1024)."""
    kv_heads: int = Field(ge=1, le=1024)
    """Key/value heads (num_key_value_heads; fewer than query heads with GQA, and dividing them)."""
    head_dim: int = Field(ge=1, le=1024)
    """Dimension per head (hidden_size / num_attention_heads unless set, 1-1024)."""
    max_context: Tokens
    """Longest context the model supports (max_position_embeddings, at most 2^24)."""
    hidden_size: int | None = Field(default=None, ge=1, le=1_048_576)
    """Model width (hidden_size); default: attention_heads x head_dim. Sizes the fit's activation estimate."""
    intermediate_size: int | None = Field(default=None, ge=1, le=4_194_304)
    """MLP width per expert (intermediate_size or moe_intermediate_size); default: 4 x hidden_size."""
    vocab_size: int | None = Field(default=None, ge=1, le=16_777_216)
    """Vocabulary (vocab_size): sizes the sampler's logits and the 16-bit embeddings of quantized weights;
    default: unknown (embeddings counted at the weight dtype, logits sized for a 128,256-token vocabulary)."""
    experts: int = Field(default=1, ge=1, le=4096)
    """Routed experts per MoE layer (num_local_experts; 1 for a dense model); all are loaded."""
    experts_per_token: int = Field(default=1, ge=1, le=4096)
    """Experts each token is routed to (num_experts_per_tok; 1 for a dense model)."""

    @model_validator(mode="after")
    def _heads(self) -> "ArchitectureSpec":
        if self.kv_heads > self.attention_heads or self.attention_heads % self.kv_heads:
            raise ValueError(f"kv_heads {self.kv_heads} must divide attention_heads {self.attention_heads}")
        if self.experts_per_token > self.experts:
            raise ValueError(f"experts_per_token {self.experts_per_token} exceeds experts {self.experts}")
        return self


class ReplicasSpec(Spec):
    """Replica bounds of a model's deployment (one replica = TP GPUs)."""

    min: Replicas = 1
    """Minimum replicas (0-1000); 0 allows scale to zero (cold starts take minutes)."""
    max: Annotated[int, Field(ge=1, le=1000)] = 1
    """Maximum replicas (1-1000); must fit what the pools' ladders can host."""

    @model_validator(mode="after")
    def _order(self) -> "ReplicasSpec":
        if self.min > self.max:
            raise ValueError(f"min {self.min} exceeds max {self.max}")
        return self


class PeakWindowSpec(Spec):
    """A known daily peak: raise the replica floor between two cron times."""

    start: Cron
    """Cron expression (5 fields: minute hour day-of-month month day-of-week) when the window opens, e.g. "0 8 * * 1-5"."""
    end: Cron
    """Cron expression when it closes (not the same as start)."""
    timezone: TimeZone = "UTC"
    """IANA time zone of the cron expressions."""
    min_replicas: Annotated[int, Field(ge=1, le=1000)]
    """Replica floor inside the window (at most replicas.max)."""

    @model_validator(mode="after")
    def _cron(self) -> "PeakWindowSpec":
        if self.start == self.end:
            raise ValueError(f"start and end are both {self.start!r} (KEDA's cron scaler needs two times)")
        return self


class AutoscalingSpec(Spec):
    """Queue-depth autoscaling of one model (KEDA, or an HPA when KEDA is disabled)."""

    queue_depth_target: int | None = Field(default=None, ge=1, le=10000)
    """Waiting requests per replica (vllm:num_requests_waiting) that trigger one more replica; default: with
    ``traffic``, the queue one replica drains within the TTFT objective (performance model), else 4."""
    scale_down_stabilization_seconds: int = Field(default=900, ge=1, le=3600)
    """Minimum time before removing replicas (cold starts take minutes: do not flap); at most 3600, the HPA's
    limit on behavior.scaleDown.stabilizationWindowSeconds (Kubernetes autoscaling/v2 API reference)."""
    polling_interval_seconds: int = Field(default=30, ge=1, le=3600)
    """How often the autoscaler reads the queue metric (seconds, 1-3600)."""
    peak_windows: list[PeakWindowSpec] = Field(default_factory=list, max_length=20)
    """Known daily peaks that raise the replica floor (KEDA cron triggers)."""


class CanarySpec(Spec):
    """A second revision of the model taking ``percent`` of traffic."""

    revision: Revision
    """Revision (40-hex commit sha or tag) the canary serves."""
    percent: int = Field(ge=0, le=100)
    """Share of traffic (0-100) sent to the canary revision."""
    replicas: Annotated[int, Field(ge=1, le=1000)] = 1
    """Replicas of the canary deployment."""


class ModelSpec(Spec):
    """One model to serve, addressed by Hugging Face repo id and pinned revision."""

    name: Name
    """Short alias: Kubernetes names, bucket prefix and the OpenAI ``model`` name clients send."""
    hf_repo: Annotated[str, AfterValidator(v.hf_repo)]
    """Hugging Face repository id, e.g. meta-llama/Llama-3.1-8B-Instruct."""
    revision: Revision
    """Pinned revision: a 40-hex commit sha or a tag (letters, digits, '.', '_', '-'; no '/' or whitespace);
    floating names like 'main' are refused."""
    dtype: WeightDType = "bf16"
    """Weight precision: bf16/fp16 (2 bytes per parameter), fp8/int8 (1), int4 (0.5, pre-quantized checkpoint)."""
    kv_cache_dtype: KvCacheDType = "auto"
    """KV cache precision: auto (16-bit) or fp8 (half the memory per token)."""
    max_model_len: Tokens = 8192
    """Context length (prompt + output tokens) each sequence may use (at most 2^24)."""
    min_concurrency: int = Field(default=16, ge=1, le=4096)
    """Sequences of max_model_len tokens one replica must hold in KV cache (fit is mandatory)."""
    gpu_memory_utilization: float = Field(default=0.9, ge=0.5, le=0.98)
    """Share of GPU memory vLLM may use (weights + activations + KV cache)."""
    tensor_parallel_size: Literal[1, 2, 4, 8] | None = None
    """GPUs per replica; default: the cheapest feasible choice for the pool's instance type."""
    pools: list[Name] = Field(min_length=1, max_length=32)
    """GPU pools (by name, on any cloud, each once) that serve this model."""
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
    traffic: TrafficSpec | None = None
    """Requests, token lengths and objectives: the plan derives replicas, cost and $/Mtok from them; none keeps
    the hand-set replicas."""
    canary: CanarySpec | None = None
    """A canary revision taking a share of traffic (Kubernetes pools only; it needs ``serving.routing.enabled``); remove
    it to roll back, promote by setting revision."""

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
        for window in self.autoscaling.peak_windows:
            if window.min_replicas > self.replicas.max:
                raise ValueError(f"a peak window's min_replicas {window.min_replicas} exceeds replicas.max "
                                 f"{self.replicas.max} (the floor can never be reached)")
        return self

    @field_validator("pools")
    @classmethod
    def _pools_once(cls, value: list[str]) -> list[str]:
        twice = sorted({p for p in value if value.count(p) > 1})
        if twice:
            raise ValueError(f"lists pool {twice[0]!r} twice")
        return value
