"""Cost that follows traffic: burst nodes a pool's traffic needs, and $ per million tokens at the planned traffic.

Burst nodes (the spot rung, whose on-demand fallback shares its maximum): with a traffic section, the nodes a pool
needs in UTC hour h are sum over its models of ceil(max(replicas.min, replicas needed in h) / replicas per node);
the burst is what exceeds the always-on floor, capped at the spot rung's maximum. Expected and best count the
burst's mean over the 24 hours (without ``daily_profile`` the peak hours are unknown: the peak need all day); worst
stays the rung's maximum at on-demand around the clock (the budget guardrail).

$/Mtok at planned traffic, per model (GPU node cost only: control planes, networking and storage are not
attributed to tokens):
    monthly   = expected monthly cost of the model's pools (a shared pool split by the models' mean nodes)
    tokens    = average requests/s x 3600 x 730 x (input + output tokens per request)
    blended   = monthly / (tokens / 1e6)
    input     = monthly x prefill share / (input tokens per month / 1e6)
    output    = monthly x (1 - prefill share) / (output tokens per month / 1e6)
where prefill share is the share of a replica's GPU time spent on prefill at its capacity (performance model).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from components.plan.basis import PlanBasis
from components.plan.pricing import HOURS_PER_MONTH


@dataclass(frozen=True)
class UnitCost:
    """One model's cost per million tokens at its planned traffic (expected cost)."""

    model: str
    monthly_usd: float
    requests_per_month: float
    input_mtok: float
    output_mtok: float
    usd_per_mtok: float
    usd_per_mtok_input: float
    usd_per_mtok_output: float

    def to_json(self) -> dict:
        """The JSON row (amounts rounded)."""
        return {"model": self.model, "monthly_usd": round(self.monthly_usd, 2),
                "requests_per_month": round(self.requests_per_month), "input_mtok": round(self.input_mtok, 3),
                "output_mtok": round(self.output_mtok, 3), "usd_per_mtok": round(self.usd_per_mtok, 4),
                "usd_per_mtok_input": round(self.usd_per_mtok_input, 4),
                "usd_per_mtok_output": round(self.usd_per_mtok_output, 4)}


def _model_nodes(basis: PlanBasis, pool: str) -> dict[str, list[int]] | None:
    """Model -> nodes it needs on ``pool`` in each UTC hour; None when a model on the pool has no traffic."""
    out = {}
    for plan in basis.on_pool(pool):
        t = plan.traffic
        if t is None:
            return None
        floor = basis.model(plan.model).replicas.min
        hours = t.hourly_replicas or (t.replicas_peak,) * 24
        out[plan.model] = [math.ceil(max(floor, r) / plan.replicas_per_node) for r in hours]
    return out or None


def burst_nodes(basis: PlanBasis, pool: str, floor: int, burst_max: int) -> float | None:
    """Mean burst nodes over the day the pool's traffic needs (None: no traffic, count the maximum)."""
    per_model = _model_nodes(basis, pool)
    if per_model is None:
        return None
    hourly = [sum(nodes[h] for nodes in per_model.values()) for h in range(24)]
    return sum(min(burst_max, max(0, n - floor)) for n in hourly) / 24


def _model_share(basis: PlanBasis, pool: str, model: str) -> float:
    """Share of the pool's cost a model carries: its mean nodes over every model's (1 when it is alone)."""
    per_model = _model_nodes(basis, pool)
    if not per_model or len(per_model) == 1:
        return 1.0
    total = sum(sum(v) for v in per_model.values())
    return sum(per_model[model]) / total if total else 1 / len(per_model)


def unit_costs(basis: PlanBasis, pool_monthly: dict[str, float]) -> tuple[UnitCost, ...]:
    """$/Mtok of every model with traffic (``pool_monthly``: pool -> expected monthly USD of its GPU rungs)."""
    out = []
    for model in basis.spec.models:
        plans = [p for p in basis.serving if p.model == model.name and p.traffic is not None]
        if model.traffic is None or not plans:
            continue
        monthly = sum(pool_monthly.get(p.pool, 0.0) * _model_share(basis, p.pool, p.model) for p in plans)
        share = sum(p.traffic.prefill_share * p.traffic.share for p in plans) / sum(p.traffic.share for p in plans)
        requests = model.traffic.average_rps * 3600 * HOURS_PER_MONTH
        mtok_in = requests * model.traffic.input_tokens.mean / 1e6
        mtok_out = requests * model.traffic.output_tokens.mean / 1e6
        out.append(UnitCost(model.name, monthly, requests, mtok_in, mtok_out, monthly / (mtok_in + mtok_out),
                            monthly * share / mtok_in, monthly * (1 - share) / mtok_out))
    return tuple(out)
