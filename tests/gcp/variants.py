"""Variant stack configs for the GCP tests: VM mode with every rung kind, built from committed stacks."""
from __future__ import annotations

import copy

from tests.conftest import raw_stack

LLAMA_70B = {
    "name": "llama-70b", "hf_repo": "meta-llama/Llama-3.3-70B-Instruct",
    "revision": "6f6073b423013f6a7d4d9f39144961bfbfbc386b", "dtype": "bf16", "max_model_len": 16384,
    "min_concurrency": 16, "pools": ["h100-vm"], "load_format": "nvme-cache", "replicas": {"min": 1, "max": 4},
}


def vm_mode() -> dict:
    """Staging, GCP only, in VM mode: an L4 pool (on-demand floor, spot burst, on-demand fallback) serving
    the 8B model and an H100 pool (reserved floor, flex-start burst) serving the 70B model."""
    raw = copy.deepcopy(raw_stack("staging"))
    raw.pop("gpuinfra:aws")
    raw["gcp:project"] = "acme-llm-vm"
    small = raw["gpuinfra:models"][0]
    small["pools"] = ["l4-vm"]
    small["replicas"] = {"min": 1, "max": 3}
    small.pop("canary", None)  # VM fleets run one revision: the plan refuses a canary there
    raw["gpuinfra:models"] = [small, copy.deepcopy(LLAMA_70B)]
    raw["gpuinfra:serving"].pop("routing", None)  # the router runs on Kubernetes only (VM fleets: no canary)
    raw["gpuinfra:gcp"] = {
        "mode": "vm",
        "vm": {"monitoring_cidrs": ["10.99.0.0/24"]},
        "gpu_pools": [
            {"name": "l4-vm", "instance_types": ["g2-standard-4"],
             "capacity": {"on_demand": 1, "spot": 3, "fallback_to_on_demand": True}},
            {"name": "h100-vm", "instance_types": ["a3-highgpu-8g"], "flex_start": True, "max_run_duration_hours": 72,
             "capacity": {"reserved": 1, "reservation": "a3-vm", "spot": 1}},
        ],
        "reservations": [{"name": "a3-vm", "zone": "us-central1-b", "machine_type": "a3-highgpu-8g", "count": 1}],
    }
    raw["gpuinfra:policy"] = {"allowed_gpus": ["L4", "H100"]}
    raw["gpuinfra:serving"].pop("routing", None)  # the router runs on Kubernetes; VM fleets are reached directly
    return raw


def gcp_only(stack: str) -> dict:
    """A committed stack without its AWS section (models keep their GCP pools, else take the first one),
    so the GCP tests exercise GCP resources only."""
    raw = copy.deepcopy(raw_stack(stack))
    raw.pop("gpuinfra:aws", None)
    gcp_pools = [p["name"] for p in raw["gpuinfra:gcp"]["gpu_pools"]]
    for model in raw["gpuinfra:models"]:
        model["pools"] = [p for p in model["pools"] if p in gcp_pools] or gcp_pools[:1]
        # The GCP pools alone host fewer replicas than both clouds did: stay within their ladders.
        model["replicas"] = {"min": 1, "max": 2}
        model.get("autoscaling", {}).pop("peak_windows", None)
    return raw
