"""Pod lifecycle arithmetic: startup-probe budget, shutdown grace, rollout strategy (pure, table-tested)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from components.catalog.vocab import AWS, Cloud

LoadFormat = Literal["nvme-cache", "stream"]
GIB = 1024**3
GB = 1000**3

#: Sustained read throughput assumed per load format, GB/s (deliberately conservative planning numbers,
#: 2026-11-23): nvme-cache reads safetensors from the node's local NVMe RAID0 / local SSD (one NVMe
#: does 2-3 GB/s sequential; page cache and RAID0 only help); stream pulls from S3/GCS with the run:ai
#: streamer, about 1 GB/s for one pod on a 25-100 Gbit/s node (run:ai streamer benchmarks report more
#: with high concurrency; we do not count on it).
LOADER_GBPS: dict[LoadFormat, float] = {"nvme-cache": 2.0, "stream": 1.0}
#: Load time is multiplied by this before the warm-up is added (a noisy neighbour, a slow shard).
LOAD_SAFETY = 1.5
#: Engine warm-up after the weights are on the GPU: KV-cache profiling, torch.compile and CUDA graph
#: capture (vLLM V1 logs 30-120 s for graph capture + compile on a cold cache). 180 s covers both.
WARMUP_SECONDS = 180
STARTUP_PERIOD_SECONDS = 10

#: Time for endpoint removal to reach kube-proxy / the gateway before SIGTERM (preStop sleep).
ENDPOINT_PROPAGATION_SECONDS = 15
#: In-flight requests get this long to finish (a long generation at ~30 tok/s: 2000 tokens ~ 60 s).
DRAIN_SECONDS = 60
#: Spot notice per cloud, seconds: AWS interruption notice 2 min (EC2 docs "Spot Instance interruption
#: notices"); GKE spot nodes give non-system pods 15 s of graceful node shutdown (GKE docs "Spot VMs",
#: "Graceful termination of Spot VMs"), both checked 2026-11-23.
SPOT_NOTICE_SECONDS = {"aws": 120, "gcp": 15}
#: Part of the AWS notice kept for the node drain itself (cordon, evictions, the DaemonSets).
AWS_SPOT_DRAIN_MARGIN = 20
#: First vLLM release with ``--shutdown-timeout`` (vllm-project/vllm PR #34730 / #36666, shipped in
#: v0.18.0 per llm-d issue #927, checked 2026-11-23). Older releases abort in-flight requests on SIGTERM.
SHUTDOWN_TIMEOUT_SINCE = (0, 18, 0)


def startup_budget_seconds(weights_gib: float, load_format: LoadFormat) -> int:
    """Seconds the startup probe must allow: weights read at the loader's rate, padded, plus warm-up.

    The nvme-cache download happens in an init container, before probes start, so it is not counted.

    Args:
        weights_gib: Weights of one replica (all TP ranks together), GiB.
        load_format: How the engine reads them.

    Returns:
        The budget in seconds.
    """
    load = weights_gib * GIB / GB / LOADER_GBPS[load_format]
    return math.ceil(load * LOAD_SAFETY + WARMUP_SECONDS)


def startup_probe(weights_gib: float, load_format: LoadFormat) -> dict:
    """A startup probe on /health whose failureThreshold x periodSeconds covers the budget."""
    budget = startup_budget_seconds(weights_gib, load_format)
    return {
        "httpGet": {"path": "/health", "port": "http"},
        "periodSeconds": STARTUP_PERIOD_SECONDS,
        "timeoutSeconds": 5,
        "failureThreshold": math.ceil(budget / STARTUP_PERIOD_SECONDS),
    }


@dataclass(frozen=True)
class GracePlan:
    """How a pod stops: preStop sleep, then SIGTERM and vLLM's drain, within the grace period."""

    pre_stop_seconds: int
    drain_seconds: int
    grace_seconds: int
    shutdown_timeout_flag: bool
    """True when vLLM drains by itself (``--shutdown-timeout drain_seconds``)."""


def parse_version(tag: str) -> tuple[int, ...]:
    """``v0.15.1`` -> ``(0, 15, 1)`` (suffixes such as ``rc1`` are ignored)."""
    core = tag.lstrip("v").split("-")[0].split("+")[0]
    return tuple(int(re.match(r"\d*", part).group() or 0) for part in core.split(".")[:3])


def supports_shutdown_timeout(vllm_version: str) -> bool:
    """True when the vLLM release accepts ``--shutdown-timeout``."""
    return parse_version(vllm_version) >= SHUTDOWN_TIMEOUT_SINCE


def grace_plan(cloud: Cloud, spot: bool, vllm_version: str) -> GracePlan:
    """Shutdown budget for a pod on a pool of ``cloud``, possibly on spot nodes.

    Without ``--shutdown-timeout`` the drain happens inside the preStop sleep: the pod is already out of
    the endpoints, vLLM still serves its in-flight requests, and SIGTERM comes after. On spot the whole
    budget is capped at the notice (GKE: 15 s; AWS: 2 min minus the node-drain margin).

    Args:
        cloud: ``aws`` or ``gcp``.
        spot: The pool's ladder has a spot rung (pods may land there).
        vllm_version: Image tag, e.g. ``v0.15.1``.

    Returns:
        The plan; ``grace_seconds >= pre_stop_seconds + drain_seconds`` always holds.
    """
    flag = supports_shutdown_timeout(vllm_version)
    propagation, drain = ENDPOINT_PROPAGATION_SECONDS, DRAIN_SECONDS
    if spot:
        cap = SPOT_NOTICE_SECONDS[cloud] - (AWS_SPOT_DRAIN_MARGIN if cloud == AWS else 0)
        propagation = min(propagation, max(2, cap // 3))
        drain = max(1, min(drain, cap - propagation - 2))
    if flag:
        return GracePlan(propagation, drain, propagation + drain + 2, True)
    return GracePlan(propagation + drain, 0, propagation + drain + 2, False)


def rollout_strategy(spare_gpus: int, tp: int) -> dict:
    """RollingUpdate parameters that cannot deadlock on GPUs.

    A surge pod needs ``tp`` free GPUs; when the pool's always-on floor does not guarantee them, a
    ``maxUnavailable: 0`` rollout waits forever for a node that never comes. Then replace one replica at
    a time instead (one replica's capacity is briefly missing; the PDB allows exactly that).

    Args:
        spare_gpus: GPUs of the pool's floor left free with every model on it at its maximum.
        tp: GPUs one replica needs.

    Returns:
        The Deployment ``strategy``.
    """
    if spare_gpus >= tp:
        update = {"maxSurge": 1, "maxUnavailable": 0}
    else:
        update = {"maxSurge": 0, "maxUnavailable": 1}
    return {"type": "RollingUpdate", "rollingUpdate": update}
