"""Replicas from traffic: per (model, pool) the replicas peak and average traffic need within the objectives.

A model's traffic is split evenly across its pools (the router or DNS in front spreads it; say otherwise by
giving each region its own model entry). Availability margins:
    zone    the smallest n with n - ceil(n / zones) >= need (replicas spread evenly over the pool's zones by the
            topology spread, and one zone lost);
    region  each region carries 1 / (regions - 1) of the traffic (one region lost, the others absorb its share).
The capacity of one replica is the performance model's highest request rate meeting the TTFT and ITL objectives.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from components.plan.engine_args import MAX_NUM_SEQS_CAP
from components.plan.performance import Load, replica_model
from components.plan.sizing import DEFAULT_QUEUE_DEPTH_TARGET, ServingPlan, model_arch
from components.spec import StackSpec
from components.spec.errors import ConfigError, key_path
from components.spec.models import ModelSpec
from components.catalog.vocab import AWS

#: Zones assumed for a GCP pool that names none (GPU regions in the catalog have three zones).
GCP_DEFAULT_ZONES = 3


@dataclass(frozen=True)
class TrafficPlan:
    """What one pool must do for its share of a model's traffic.

    Attributes:
        share: Fraction of the model's requests the pool serves normally (after a region loss: ``failover_share``).
        peak_rps / average_rps: The pool's requests per second at peak and on average (normal operation).
        replica: One replica at its capacity within the objectives (rate, batch, p95 TTFT and ITL, seconds).
        replicas_peak / replicas_average: Replicas needed, availability margin included.
        hourly_replicas: Replicas needed in each UTC hour (None without a daily profile).
        prefill_share: Share of a replica's GPU time spent on prefill at capacity (splits $/Mtok input/output).
        input_tokens / output_tokens: Mean tokens per request.
    """

    share: float
    failover_share: float
    peak_rps: float
    average_rps: float
    replica: Load
    replicas_peak: int
    replicas_average: int
    hourly_replicas: tuple[int, ...] | None
    prefill_share: float
    input_tokens: int
    output_tokens: int
    availability: str


def zones_of(spec: StackSpec, pool_name: str) -> int:
    """Zones a pool's replicas spread over: its ``zones``, else the AWS subnets' zones, else three on GCP."""
    cloud, pool = spec.pool(pool_name)
    if pool.zones:
        return len(pool.zones)
    return spec.aws.network.az_count if cloud == AWS and spec.aws else GCP_DEFAULT_ZONES


def with_margin(need: float, availability: str, zones: int) -> int:
    """Replicas for ``need`` replicas of load that survive the loss of one zone when ``availability`` is zone."""
    if need <= 0:
        return 0  # no traffic in that hour: the floor (replicas.min) is all that runs
    n = max(1, math.ceil(need - 1e-9))
    if availability != "zone":
        return n
    while n - math.ceil(n / zones) < need - 1e-9:
        n += 1
    return n


def _shares(model: ModelSpec, plans: list[ServingPlan], index: int) -> dict[str, tuple[float, float]]:
    """Pool -> (normal share, share after losing one region)."""
    regions = {p.pool: (p.cloud, p.region) for p in plans}
    distinct = sorted(set(regions.values()))
    availability = model.traffic.objectives.availability
    if availability == "region" and len(distinct) < 2:
        raise ConfigError(key_path(("models", index, "traffic", "objectives", "availability")),
                          f"'region' needs pools in two regions or more; {model.name} is served from "
                          f"{distinct[0][1]} only (allowed: none, zone)")
    out = {}
    for pool, where in regions.items():
        in_region = sum(1 for w in regions.values() if w == where)
        normal = 1 / len(plans)
        failover = 1 / (len(distinct) - 1) / in_region if availability == "region" else normal
        out[pool] = (normal, failover)
    return out


def _capacity(model: ModelSpec, plan: ServingPlan, index: int) -> tuple[Load, float, float] | None:
    """(capacity load, prefill share of GPU time, prefill seconds of a p95 prompt), None without GPU peaks."""
    t = model.traffic
    fit = plan.worst_fit
    rm = replica_model(model_arch(model), fit.gpu, plan.tp, model.dtype, fit.kv_bytes_per_token_per_gpu,
                       fit.kv_tokens, MAX_NUM_SEQS_CAP)
    if rm is None:
        return None  # no datasheet peaks for this GPU: replicas stay hand-set (report says so)
    o = t.objectives
    load = rm.capacity(t.input_tokens.mean, t.output_tokens.mean, t.input_tokens.tail, t.output_tokens.tail,
                       o.ttft_p95_seconds, o.itl_seconds)
    if load is None:
        single = rm.open_loop(1e-6, t.input_tokens.mean, t.output_tokens.mean, t.input_tokens.tail,
                              t.output_tokens.tail)
        key, value, got = (("itl_p95_seconds", o.itl_seconds, single.itl_s)
                           if o.itl_seconds is not None and single.itl_s > o.itl_seconds
                           else ("ttft_p95_seconds", o.ttft_p95_seconds, single.ttft_s))
        raise ConfigError(key_path(("models", index, "traffic", "objectives", key)),
                          f"{value:g} s cannot be met by one idle replica of {model.name} on pool {plan.pool!r} "
                          f"({fit.gpu} TP {plan.tp}: {got:.3f} s); allowed: above {got:.3f} s, or a faster GPU / "
                          f"larger TP")
    prefill = t.input_tokens.mean / rm.prefill_tokens_per_second
    decode = t.output_tokens.mean * rm.step_seconds(load.batch, t.input_tokens.mean + t.output_tokens.mean / 2) / load.batch
    return load, prefill / (prefill + decode), t.input_tokens.tail / rm.prefill_tokens_per_second


def queue_target(model: ModelSpec, load: Load, input_p95_prefill_s: float) -> int:
    """Waiting requests one replica drains within the TTFT objective at its capacity rate."""
    ttft = model.traffic.objectives.ttft_p95_seconds
    if ttft is None:
        return DEFAULT_QUEUE_DEPTH_TARGET
    slack = max(0.0, ttft - input_p95_prefill_s - load.itl_s)
    return max(1, min(10000, math.floor(load.requests_per_second * slack)))


def _plan_pool(spec: StackSpec, model: ModelSpec, plan: ServingPlan, index: int, share: tuple[float, float]) -> ServingPlan:
    found = _capacity(model, plan, index)
    if found is None:
        return plan
    load, prefill_share, prefill_p95 = found
    t, (normal, failover) = model.traffic, share
    zones = zones_of(spec, plan.pool)
    availability = t.objectives.availability

    def replicas(rate: float) -> int:
        return with_margin(rate * (failover / normal) / load.requests_per_second, availability, zones)

    hourly = t.hourly_rps()
    traffic = TrafficPlan(
        share=normal, failover_share=failover, peak_rps=t.peak_rps * normal, average_rps=t.average_rps * normal,
        replica=load, replicas_peak=replicas(t.peak_rps * normal), replicas_average=replicas(t.average_rps * normal),
        hourly_replicas=None if hourly is None else tuple(replicas(r * normal) for r in hourly),
        prefill_share=prefill_share, input_tokens=t.input_tokens.mean, output_tokens=t.output_tokens.mean,
        availability=availability)
    target = model.autoscaling.queue_depth_target or queue_target(model, load, prefill_p95)
    # The batch at the objective becomes --max-num-seqs: beyond it vLLM queues (the autoscaler's signal) instead
    # of stretching every stream's ITL; never below min_concurrency (the fit's guarantee).
    seqs = max(model.min_concurrency, math.floor(load.batch))
    return replace(plan, traffic=traffic, queue_depth_target=target,
                   engine_args=plan.engine_args.with_(max_num_seqs=seqs))


def plan_traffic(spec: StackSpec, plans: list[ServingPlan]) -> list[ServingPlan]:
    """Add each model's traffic plan (and the derived queue target) to its fitting (model, pool) plans.

    Raises:
        ConfigError: an objective no replica can meet, or ``availability: region`` with one region.
    """
    out = list(plans)
    for index, model in enumerate(spec.models):
        if model.traffic is None:
            continue
        mine = [p for p in plans if p.model == model.name]
        shares = _shares(model, mine, index)
        for i, plan in enumerate(out):
            if plan.model == model.name and plan.fits:
                out[i] = _plan_pool(spec, model, plan, index, shares[plan.pool])
    return out

