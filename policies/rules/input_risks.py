"""Advisory rule: settings that are legal but risky (spot-only floors, hair-trigger idle stops, empty canaries)."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.rules.base import Finding, Rule, prop

#: An idle window shorter than this stops GPUs during ordinary lulls between requests (the watchdog runs every
#: few minutes; vLLM reloads take minutes, so a stop costs far more than the idle minutes saved).
SHORT_IDLE_MINUTES = 15
#: An idle threshold at or above this counts busy GPUs as idle (serving rarely keeps utilisation above it).
HIGH_IDLE_PCT = 90.0


def _spot_only(spec: Any, pool_name: str) -> bool:
    try:
        _, pool = spec.pool(pool_name)
    except KeyError:
        return False
    ladder = pool.capacity
    return ladder.floor == 0 and ladder.spot > 0 and not ladder.fallback_to_on_demand


def risky_settings(spec: Any) -> list[str]:
    """One message per risky but legal setting of ``spec`` (a ``StackSpec``), each naming its key.

    Args:
        spec: The validated stack spec.

    Returns:
        Messages in configuration order (empty: nothing risky).
    """
    out = []
    for i, model in enumerate(spec.models):
        if model.replicas.min >= 1 and all(_spot_only(spec, p) for p in model.pools):
            out.append(f"gpuinfra:models[{i}].replicas.min {model.replicas.min} runs only on spot-only pools "
                       f"({', '.join(model.pools)}): a spot reclaim leaves {model.name} unserved; add an on-demand "
                       "floor or fallback_to_on_demand")
        if model.canary is not None and model.canary.percent == 0:
            out.append(f"gpuinfra:models[{i}].canary.percent 0 sends no traffic to the canary: its "
                       f"{model.canary.replicas} replica(s) cost GPUs and serve nothing")
    watchdog = spec.aws.idle_watchdog if spec.aws else None
    if watchdog is not None and watchdog.enabled:
        if watchdog.idle_minutes < SHORT_IDLE_MINUTES:
            out.append(f"gpuinfra:aws.idle_watchdog.idle_minutes {watchdog.idle_minutes} stops GPU instances after "
                       f"under {SHORT_IDLE_MINUTES} idle minutes: ordinary lulls stop serving nodes")
        if watchdog.idle_threshold_pct >= HIGH_IDLE_PCT:
            out.append(f"gpuinfra:aws.idle_watchdog.idle_threshold_pct {watchdog.idle_threshold_pct:g} counts GPUs "
                       "busy below that share as idle: serving instances get stopped")
    if spec.monitoring.gpu_idle_threshold_pct >= HIGH_IDLE_PCT:
        out.append(f"gpuinfra:monitoring.gpu_idle_threshold_pct {spec.monitoring.gpu_idle_threshold_pct:g} makes the "
                   "idle-GPU alert fire on busy GPUs")
    return out


def check_input_risks(views: list, s: Mapping[str, Any]) -> Iterator[Finding]:
    """One advisory finding per risky setting the stack's config section lists."""
    del views  # the risks are settings, computed from the spec into the pack config
    for message in s.get("risky_settings") or []:
        yield Finding("stack", message)


RULES = [
    Rule("input-risks", "Legal but risky settings (spot-only floors, short idle windows, 0% canaries).", "advisory",
         "stack", check_input_risks,
         {"risky_settings": prop("array", [], "Risky settings found in the stack spec", items={"type": "string"})}),
]
