"""Checks of the replicas traffic needs: mandatory when the maximum cannot serve the peak, advisory for idle floors."""
from __future__ import annotations

from components.plan.sizing import ServingPlan
from components.spec import StackSpec
from components.spec.errors import ConfigError, key_path
from components.spec.models import ModelSpec


def _pool_key(spec: StackSpec, pool_name: str) -> tuple:
    cloud, _ = spec.pool(pool_name)
    section = spec.section(cloud)
    index = next(i for i, p in enumerate(section.gpu_pools) if p.name == pool_name)
    return (cloud, "gpu_pools", index, "capacity")


def _objectives(model: ModelSpec) -> str:
    o = model.traffic.objectives
    parts = [f"TTFT p95 {o.ttft_p95_seconds:g} s" if o.ttft_p95_seconds else "",
             f"ITL p95 {o.itl_seconds:g} s" if o.itl_seconds else ""]
    return " and ".join(p for p in parts if p) or "the KV cache and --max-num-seqs"


def check_traffic_replicas(spec: StackSpec, plans: tuple[ServingPlan, ...], canary: dict[str, int]) -> None:
    """Mandatory: each pool's replica maximum (``replicas.max``, and what its ladder hosts beside the canary)
    serves the pool's peak within the objectives.

    Raises:
        ConfigError: naming ``models[i].replicas.max`` or the pool's ``capacity``, whichever is the bound.
    """
    for index, model in enumerate(spec.models):
        for plan in (p for p in plans if p.model == model.name and p.traffic is not None):
            t, hosted = plan.traffic, plan.max_replicas - canary.get(model.name, 0)
            allowed = min(model.replicas.max, hosted)
            if t.replicas_peak <= allowed:
                continue
            key = ("models", index, "replicas", "max") if model.replicas.max <= hosted else _pool_key(spec, plan.pool)
            what = f"replicas.max {model.replicas.max}" if model.replicas.max <= hosted else \
                f"the ladder's {hosted} replicas"
            raise ConfigError(key_path(key), (
                f"{what} cannot serve the peak {t.peak_rps:.2f} req/s of {model.name} on pool {plan.pool!r} within "
                f"{_objectives(model)}: it needs {t.replicas_peak} replicas ({t.replica.requests_per_second:.2f} "
                f"req/s each, availability {t.availability}); allowed: at least {t.replicas_peak}"))


def traffic_warnings(spec: StackSpec, plans: tuple[ServingPlan, ...]) -> list[str]:
    """Advisory: a replica floor far above what the average traffic needs (idle GPUs billed around the clock)."""
    out = []
    for model in spec.models:
        for plan in (p for p in plans if p.model == model.name and p.traffic is not None):
            need = plan.traffic.replicas_average
            if model.replicas.min >= 2 * need and model.replicas.min > need + 1:
                out.append(f"{model.name} on {plan.pool}: replicas.min {model.replicas.min} is far above the "
                           f"{need} replicas the average {plan.traffic.average_rps:.2f} req/s needs; lower it to "
                           f"{need} unless the floor is for cold starts")
    return out
