"""Probe budget, shutdown grace and rollout-strategy arithmetic (pure functions, table-driven)."""
from __future__ import annotations

import math

import pytest

from components.plan.lifecycle import (
    GB, GIB, LOAD_SAFETY, LOADER_GBPS, SPOT_NOTICE_SECONDS, WARMUP_SECONDS, grace_plan, parse_version,
    rollout_strategy, startup_budget_seconds, startup_probe, supports_shutdown_timeout,
)


@pytest.mark.parametrize(("weights_gib", "load_format", "expected"), [
    (14.96, "stream", 205),        # dev 8B bf16 streamed: 16.1 GB at 1 GB/s x1.5 = 24 s + 180 s warm-up
    (131.4, "nvme-cache", 286),    # prod 70B bf16 from local NVMe: 141 GB at 2 GB/s x1.5 = 106 s + 180 s
    (131.4, "stream", 392),        # the same 70B streamed from the bucket takes twice the read time
    (0.0, "stream", WARMUP_SECONDS),  # warm-up alone is the floor
])
def test_startup_budget(weights_gib, load_format, expected):
    assert startup_budget_seconds(weights_gib, load_format) == expected


@pytest.mark.parametrize("weights_gib", [1, 15, 70, 131.4, 400])
@pytest.mark.parametrize("load_format", ["nvme-cache", "stream"])
def test_probe_covers_the_budget(weights_gib, load_format):
    probe = startup_probe(weights_gib, load_format)
    window = probe["failureThreshold"] * probe["periodSeconds"]
    load = weights_gib * GIB / GB / LOADER_GBPS[load_format]
    assert window >= load * LOAD_SAFETY + WARMUP_SECONDS          # never kills a pod still loading
    assert window - probe["periodSeconds"] < startup_budget_seconds(weights_gib, load_format)  # no extra period
    assert probe["httpGet"]["path"] == "/health"


def test_streaming_needs_a_longer_probe_than_nvme():
    assert startup_probe(131.4, "stream")["failureThreshold"] > startup_probe(131.4, "nvme-cache")["failureThreshold"]


@pytest.mark.parametrize(("cloud", "spot", "version", "pre_stop", "drain", "grace", "flag"), [
    ("aws", False, "v0.15.1", 75, 0, 77, False),   # pinned vLLM: no --shutdown-timeout, the preStop sleep drains
    ("aws", False, "v0.18.0", 15, 60, 77, True),   # 0.18+: endpoints drop in 15 s, vLLM drains up to 60 s
    ("aws", True, "v0.18.0", 15, 60, 77, True),    # AWS spot: 2 min notice - 20 s node drain = 100 s cap, fits
    ("gcp", False, "v0.15.1", 75, 0, 77, False),   # GKE on-demand/reserved: same as AWS
    ("gcp", True, "v0.15.1", 13, 0, 15, False),    # GKE spot: everything inside the 15 s graceful shutdown
    ("gcp", True, "v0.19.2", 5, 8, 15, True),      # GKE spot with drain support: 5 s propagation + 8 s drain
])
def test_grace_plan(cloud, spot, version, pre_stop, drain, grace, flag):
    plan = grace_plan(cloud, spot, version)
    assert (plan.pre_stop_seconds, plan.drain_seconds, plan.grace_seconds, plan.shutdown_timeout_flag) == (
        pre_stop, drain, grace, flag)


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
@pytest.mark.parametrize("spot", [False, True])
@pytest.mark.parametrize("version", ["v0.15.1", "v0.18.0"])
def test_grace_invariants(cloud, spot, version):
    plan = grace_plan(cloud, spot, version)
    assert plan.grace_seconds >= plan.pre_stop_seconds + plan.drain_seconds  # SIGKILL never cuts the drain
    if spot:
        assert plan.grace_seconds <= SPOT_NOTICE_SECONDS[cloud]  # the node is gone after the notice


@pytest.mark.parametrize(("tag", "parsed", "supported"), [
    ("v0.15.1", (0, 15, 1), False),
    ("v0.17.9", (0, 17, 9), False),
    ("v0.18.0", (0, 18, 0), True),    # first release with --shutdown-timeout
    ("0.18.0rc1", (0, 18, 0), True),  # suffixes ignored
    ("v1.0.0", (1, 0, 0), True),
])
def test_version_gate(tag, parsed, supported):
    assert parse_version(tag) == parsed
    assert supports_shutdown_timeout(tag) is supported


@pytest.mark.parametrize(("spare_gpus", "tp", "surge", "unavailable"), [
    (0, 1, 0, 1),     # one-GPU replicas, floor fully used: surge would wait forever -> replace in place
    (-6, 2, 0, 1),    # the pool's maxima exceed its floor (burst on spot): no guaranteed spare
    (1, 2, 0, 1),     # one free GPU cannot host a TP2 surge pod
    (1, 1, 1, 0),     # a guaranteed free GPU: surge first, never below capacity
    (8, 4, 1, 0),     # a free half node hosts a TP4 surge pod
])
def test_rollout_strategy(spare_gpus, tp, surge, unavailable):
    strategy = rollout_strategy(spare_gpus, tp)
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"] == {"maxSurge": surge, "maxUnavailable": unavailable}


@pytest.mark.parametrize("spare_gpus", range(-4, 9))
@pytest.mark.parametrize("tp", [1, 2, 4, 8])
def test_rollout_never_deadlocks(spare_gpus, tp):
    update = rollout_strategy(spare_gpus, tp)["rollingUpdate"]
    # A rollout progresses when it may remove a pod, or when the surge pod surely has GPUs.
    assert update["maxUnavailable"] >= 1 or spare_gpus >= tp
    assert update["maxSurge"] + update["maxUnavailable"] >= 1


def test_budget_rounds_up():
    assert startup_budget_seconds(1.0, "stream") == math.ceil(GIB / GB * LOAD_SAFETY + WARMUP_SECONDS)
