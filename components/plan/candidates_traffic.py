"""Candidates ranked by monthly cost at a traffic: replicas from the performance model, nodes, $/Mtok.

Monthly cost here provisions the peak around the clock (no daily profile on the command line): nodes =
ceil(replicas at peak, availability margin included / replicas per node) x on-demand $/h x 730 h.
$/Mtok = that monthly cost / (average requests per second x 3600 x 730 x (input + output tokens) / 1e6).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from components.catalog import ModelArch
from components.plan.candidates import Candidate
from components.plan.engine_args import MAX_NUM_SEQS_CAP
from components.plan.performance import replica_model
from components.plan.pricing import HOURS_PER_MONTH
from components.plan.traffic import GCP_DEFAULT_ZONES, with_margin
from components.spec.traffic import TrafficSpec


@dataclass(frozen=True)
class TrafficCandidate:
    """One candidate at the traffic: what a replica serves, replicas and nodes at peak, monthly cost, $/Mtok."""

    candidate: Candidate
    replica_rps: float | None = None
    replicas_peak: int | None = None
    nodes: int | None = None
    monthly_usd: float | None = None
    usd_per_mtok: float | None = None
    reason: str = ""


def usd_per_mtok_at(monthly_usd: float, average_rps: float, tokens_per_request: float) -> float:
    """USD per million tokens (input + output) served in a 730-hour month at ``average_rps``."""
    return monthly_usd / (average_rps * 3600 * HOURS_PER_MONTH * tokens_per_request / 1e6)


def _one(arch: ModelArch, c: Candidate, traffic: TrafficSpec, zones: int) -> TrafficCandidate:
    f = c.fit
    if not f.fits:
        return TrafficCandidate(c, reason=f.reason)
    rm = replica_model(arch, f.gpu, f.tp, f.dtype, f.kv_bytes_per_token_per_gpu, f.kv_tokens, MAX_NUM_SEQS_CAP)
    if rm is None:
        return TrafficCandidate(c, reason=f"no datasheet peaks for {f.gpu} (benchmarks.yaml)")
    t, o = traffic, traffic.objectives
    load = rm.capacity(t.input_tokens.mean, t.output_tokens.mean, t.input_tokens.tail, t.output_tokens.tail,
                       o.ttft_p95_seconds, o.itl_seconds)
    if load is None:
        return TrafficCandidate(c, reason="one idle replica misses the objectives")
    replicas = with_margin(t.peak_rps / load.requests_per_second, o.availability, zones)
    nodes = math.ceil(replicas / f.replicas_per_node)
    if c.hourly_usd is None:
        return TrafficCandidate(c, load.requests_per_second, replicas, nodes, reason="no price")
    monthly = nodes * c.hourly_usd * HOURS_PER_MONTH
    per_mtok = usd_per_mtok_at(monthly, t.average_rps, t.input_tokens.mean + t.output_tokens.mean)
    return TrafficCandidate(c, load.requests_per_second, replicas, nodes, monthly, per_mtok)


def at_traffic(arch: ModelArch, rows: list[Candidate], traffic: TrafficSpec,
               zones: int = GCP_DEFAULT_ZONES) -> list[TrafficCandidate]:
    """Every candidate at ``traffic`` (``availability: region`` is not applied here: one region is sized),
    cheapest monthly first, then the ones without a cost (with the reason)."""
    out = [_one(arch, c, traffic, zones) for c in rows]
    return sorted(out, key=lambda r: (r.monthly_usd is None, r.monthly_usd or 0.0, r.candidate.hourly_usd or 0.0))
