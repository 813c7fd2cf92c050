"""Typed, immutable rows of the GPU instance and model catalog."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal

from components.catalog.vocab import CLOUDS, Cloud  # noqa: F401  (re-exported)

LocalNvmeMode = Literal["instance-store", "bundled", "optional", "none"]

MIB_PER_GIB = 1024


class CatalogError(ValueError):
    """Catalog data is invalid: the message names file, row, field and reason."""


@dataclass(frozen=True)
class GpuModel:
    """One GPU model as the driver reports it.

    Attributes:
        name: Catalog name, e.g. "H100".
        usable_vram_mib: Total memory CUDA reports (cudaMemGetInfo total, what vLLM's gpu_memory_utilization
            multiplies), MiB: below nvidia-smi's total and far below the marketing figure.
        fp8: True when the GPU has native FP8 tensor cores (Ada, Hopper, Blackwell).
        architecture: "ampere", "ada", "hopper" or "blackwell".
        gcp_accelerator: GCP accelerator type name, None when GCP does not offer it.
    """

    name: str
    usable_vram_mib: int
    fp8: bool
    architecture: str = ""
    gcp_accelerator: str | None = None
    source: str = ""
    as_of: datetime.date | None = None

    @property
    def usable_vram_gib(self) -> float:
        """Usable VRAM in GiB (MiB / 1024)."""
        return self.usable_vram_mib / MIB_PER_GIB


@dataclass(frozen=True)
class InstanceType:
    """A GPU machine shape of one cloud (AWS instance type or GCP machine type).

    Attributes:
        local_nvme_disks: Instance-store disks (AWS), bundled count or the most attachable (GCP optional).
        local_nvme_gb_per_disk: GB per disk (decimal GB as the clouds quote them).
        local_nvme_mode: "instance-store" (AWS), "bundled" / "optional" / "none" (GCP local SSD).
        quota_family: AWS vCPU quota bucket "G" or "P"; on GCP the accelerator name (quotas are per GPU model).
        accelerator: GCP accelerator type (e.g. "nvidia-l4"); None on AWS.
        network_gbps: Network bandwidth in Gbit/s ("up to" values included), None when not recorded.
        gvnic_required: GCP: the machine series boots only with the gVNIC network driver (A3, A4); False on AWS.
    """

    cloud: Cloud
    name: str
    gpu: GpuModel
    gpu_count: int
    vcpu: int
    ram_gib: float
    local_nvme_disks: int
    local_nvme_gb_per_disk: int
    local_nvme_mode: LocalNvmeMode
    efa_interfaces: int
    quota_family: str
    accelerator: str | None = None
    network_gbps: float | None = None
    spec_source: str = ""
    gvnic_required: bool = False

    @property
    def vram_gib_per_gpu(self) -> float:
        """Usable VRAM per GPU in GiB."""
        return self.gpu.usable_vram_gib

    @property
    def local_nvme_gb(self) -> int:
        """Local NVMe total in GB (for GCP "optional", the most that can be attached)."""
        return self.local_nvme_disks * self.local_nvme_gb_per_disk


@dataclass(frozen=True)
class Price:
    """USD per hour for one node of an instance type in one region, with provenance.

    Attributes:
        on_demand: On-demand price, USD/h (always > 0).
        spot: A dated spot sample, USD/h, or None when no sample exists (cost models then use on_demand).
        capacity_block: AWS Capacity Blocks for ML price, USD/h, or None.
        committed_1y: GCP 1-year committed-use price, USD/h, or None.
        committed_3y: GCP 3-year committed-use price, USD/h, or None.
        source: Where the on-demand price comes from; as_of: when it was captured.
    """

    on_demand: float
    source: str
    as_of: datetime.date
    spot: float | None = None
    spot_source: str | None = None
    spot_as_of: datetime.date | None = None
    capacity_block: float | None = None
    capacity_block_source: str | None = None
    capacity_block_as_of: datetime.date | None = None
    committed_1y: float | None = None
    committed_3y: float | None = None


@dataclass(frozen=True)
class ModelArch:
    """Architecture figures of a decoder-only model, as in its config.json.

    Attributes:
        hf_repo: Hugging Face repo id (or any name for a stack-provided architecture).
        params: Total parameters (MoE: all experts).
        layers: num_hidden_layers.
        attention_heads: num_attention_heads (query heads).
        kv_heads: num_key_value_heads.
        head_dim: Per-head dimension.
        max_context: max_position_embeddings, tokens.
        size_class: Class used to match throughput references (e.g. "70B"); None matches none.
        hidden_size / intermediate_size / vocab_size: config.json sizes (MoE: intermediate per expert); None when
            unknown (the fit then falls back to estimates from heads x head_dim).
        tie_word_embeddings: lm_head shares the embedding matrix (counted once).
        experts / experts_per_token: num_local_experts and num_experts_per_tok (1 and 1 for dense models).
        checkpoint_dtype / checkpoint_gib: the repo's own weight dtype and the weight bytes vLLM loads from it
            (all ranks together, GiB), when a published size is known (FP8 checkpoints that keep some layers in
            16 bits are larger than parameters x 1 byte).
    """

    hf_repo: str
    params: float
    layers: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    max_context: int
    size_class: str | None = None
    source: str = ""
    as_of: datetime.date | None = None
    hidden_size: int | None = None
    intermediate_size: int | None = None
    vocab_size: int | None = None
    tie_word_embeddings: bool = False
    experts: int = 1
    experts_per_token: int = 1
    checkpoint_dtype: str | None = None
    checkpoint_gib: float | None = None

    @property
    def params_billions(self) -> float:
        """Parameters in billions."""
        return self.params / 1e9


@dataclass(frozen=True)
class ThroughputRef:
    """A published throughput figure (reference, at saturation), for $ per million tokens.

    Attributes:
        gpus: GPUs the figure covers (one engine instance spanning them).
        output_tok_s: Output tokens per second for all of those GPUs together.
    """

    model: str
    size_class: str
    gpu: str
    gpus: int
    dtype: str
    engine: str
    scenario: str
    output_tok_s: float
    source: str
    as_of: datetime.date
