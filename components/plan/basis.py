"""The decisions every other part of the plan reads: each pool's ladder and each (model, pool) sizing, made once."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.plan.ladder import LadderPlan, plan_ladders
from components.plan.sizing import ServingPlan, plan_serving
from components.plan.traffic import plan_traffic
from components.spec import StackSpec
from components.spec.models import ModelSpec


@dataclass(frozen=True)
class PlanBasis:
    """The validated spec with its ladders and serving plans; ``plan_stack`` builds it once and hands it around.

    Attributes:
        spec: The validated stack.
        ladders: Pool name -> its capacity ladder, in configuration order (AWS first).
        serving: Every (model, pool) sizing, in configuration order.
    """

    spec: StackSpec
    ladders: Mapping[str, LadderPlan]
    serving: tuple[ServingPlan, ...]

    def ladder(self, pool: str) -> LadderPlan:
        """The ladder of ``pool``."""
        return self.ladders[pool]

    def on_pool(self, pool: str) -> list[ServingPlan]:
        """The serving plans of every model on ``pool``."""
        return [p for p in self.serving if p.pool == pool]

    def serving_plan(self, model: str, pool: str) -> ServingPlan:
        """The sizing of ``model`` on ``pool``."""
        return next(p for p in self.serving if (p.model, p.pool) == (model, pool))

    def model(self, name: str) -> ModelSpec:
        """The model spec named ``name``."""
        return next(m for m in self.spec.models if m.name == name)

    def pool_weights_gib(self, pool: str) -> float:
        """The largest weights any model on ``pool`` serves (sizes node-local caches)."""
        return max((p.weights_gib for p in self.on_pool(pool)), default=0.0)


def plan_basis(spec: StackSpec) -> PlanBasis:
    """Plan every ladder once, size every (model, pool) against those ladders, then the replicas traffic needs.

    Raises:
        ConfigError: an objective no replica can meet (components/plan/traffic.py).
    """
    ladders = {ladder.pool: ladder for ladder in plan_ladders(spec)}
    return PlanBasis(spec=spec, ladders=ladders, serving=tuple(plan_traffic(spec, plan_serving(spec, ladders))))
