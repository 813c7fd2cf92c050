"""Node labels, taints and service-account names shared by node pools (clouds) and pods (k8s)."""
from __future__ import annotations

from components.plan.ladder import Tier

LABEL_POOL = "gpuinfra.dev/pool"
LABEL_TIER = "gpuinfra.dev/capacity-tier"
LABEL_GPU = "gpuinfra.dev/gpu"
#: The same pool and tier as Compute Engine label keys, which allow only lowercase letters, digits, ``_`` and ``-``
#: (cloud.google.com/compute/docs/labeling-resources#requirements): GCE instance templates of VM mode carry these.
GCE_LABEL_POOL = "gpuinfra-pool"
GCE_LABEL_TIER = "capacity-tier"
#: Every GPU node carries this taint; only GPU workloads tolerate it.
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


def node_labels(pool: str, tier: Tier, gpu: str) -> dict[str, str]:
    """Labels of a GPU node: its pool, capacity tier and GPU model (pods select on pool)."""
    return {LABEL_POOL: pool, LABEL_TIER: tier, LABEL_GPU: gpu}


def serving_service_account(model: str) -> str:
    """Kubernetes service account of a model's vLLM pods (bound to the model's reader identity)."""
    return f"vllm-{model}"
