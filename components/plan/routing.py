"""The model router's routing table, planned from ``serving.routing``."""
from __future__ import annotations

from components.spec import StackSpec


def routing_rows(spec: StackSpec) -> list[dict]:
    """Rows ``{match, model, pools}`` of the router's table; empty while routing is disabled."""
    if not spec.serving.routing.enabled:
        return []
    pools = {m.name: list(m.pools) for m in spec.models}
    rows = [{"match": f"model == {m}", "model": m, "pools": pools[m]} for m in pools]
    routing = spec.serving.routing
    rows += [{"match": f"{routing.tier_header}: {t.value}", "model": t.model, "pools": pools.get(t.model, [])}
             for t in routing.tiers]
    if routing.default_model:
        rows.append({"match": "default", "model": routing.default_model, "pools": pools.get(routing.default_model, [])})
    return rows
