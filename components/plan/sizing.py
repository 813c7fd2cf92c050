"""Which tensor-parallel size each served model runs with on each of its pools, and whether it fits."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from components.catalog import ModelArch, load_catalog
from components.plan.candidates import TP_SIZES
from components.plan.engine_args import EngineArgs, engine_args
from components.plan.fit import FitResult, fit, tp_problem
from components.plan.ladder import LadderPlan, plan_ladder
from components.spec import StackSpec
from components.spec.models import ModelSpec
from components.catalog.vocab import Cloud

if TYPE_CHECKING:
    from components.plan.traffic import TrafficPlan

LoadFormat = Literal["nvme-cache", "stream"]

#: Models whose weights exceed this stream slowly enough that a node-local NVMe copy pays off
#: (a restart reloads from local disk at several GB/s instead of the bucket).
NVME_CACHE_ABOVE_GIB = 40.0
#: Queue-depth target without traffic to derive one from (the spec's default before issue 20).
DEFAULT_QUEUE_DEPTH_TARGET = 4


@dataclass(frozen=True)
class ServingPlan:
    """One model on one pool: the TP size, the fit on every instance type of the pool, the engine args."""

    model: str
    pool: str
    cloud: Cloud
    region: str
    tp: int
    fits: bool
    reason: str
    fits_by_type: tuple[FitResult, ...]
    replicas_per_node: int
    max_replicas: int
    """Replicas the pool's ladder can host at maximum scale."""
    load_format: LoadFormat
    weights_gib: float
    engine_args: EngineArgs | None
    """The sized vLLM arguments (None when the model does not fit the pool)."""
    queue_depth_target: int = DEFAULT_QUEUE_DEPTH_TARGET
    """Waiting requests per replica that add one: the spec's, else derived from traffic, else the default."""
    traffic: "TrafficPlan | None" = None
    """Replicas the model's traffic needs on this pool (components/plan/traffic.py); None without traffic."""

    @property
    def worst_fit(self) -> FitResult:
        """The fit with the least KV capacity across the pool's instance types."""
        return min(self.fits_by_type, key=lambda f: f.kv_tokens)


def model_arch(model: ModelSpec) -> ModelArch:
    """The model's architecture: the stack's own numbers, else the catalog's."""
    if model.architecture is not None:
        a = model.architecture
        return ModelArch(hf_repo=model.hf_repo, params=a.params, layers=a.layers, attention_heads=a.attention_heads,
                         kv_heads=a.kv_heads, head_dim=a.head_dim, max_context=a.max_context,
                         hidden_size=a.hidden_size, intermediate_size=a.intermediate_size, vocab_size=a.vocab_size,
                         experts=a.experts, experts_per_token=a.experts_per_token)
    arch = load_catalog().model(model.hf_repo)
    assert arch is not None, "spec checks refuse models missing from the catalog without an architecture"
    return arch


def _fits(model: ModelSpec, arch: ModelArch, cloud: Cloud, types: list[str], tp: int) -> list[FitResult]:
    catalog = load_catalog()
    return [
        fit(arch, catalog.instance(cloud, t), tp, dtype=model.dtype, kv_cache_dtype=model.kv_cache_dtype,
            max_model_len=model.max_model_len, concurrency=model.min_concurrency,
            gpu_memory_utilization=model.gpu_memory_utilization)
        for t in types
    ]


def _choose_tp(model: ModelSpec, arch: ModelArch, cloud: Cloud, types: list[str]) -> tuple[int, list[FitResult]]:
    """The smallest TP (most replicas per node, cheapest per replica) that fits on every type of the pool."""
    if model.tensor_parallel_size:
        return model.tensor_parallel_size, _fits(model, arch, cloud, types, model.tensor_parallel_size)
    for tp in TP_SIZES:
        results = _fits(model, arch, cloud, types, tp)
        if all(r.fits for r in results):
            return tp, results
    # Nothing fits: report the largest TP the primary node allows, the closest to fitting.
    gpus = load_catalog().instance(cloud, types[0]).gpu_count
    usable = [tp for tp in TP_SIZES if not tp_problem(arch, tp, gpus)] or [1]
    return usable[-1], _fits(model, arch, cloud, types, usable[-1])


def _load_format(model: ModelSpec, weights_gib: float) -> LoadFormat:
    if model.load_format != "auto":
        return model.load_format
    return "nvme-cache" if weights_gib > NVME_CACHE_ABOVE_GIB else "stream"


def plan_model_on_pool(spec: StackSpec, model: ModelSpec, pool_name: str, ladder: LadderPlan | None = None) -> ServingPlan:
    """Size ``model`` on the pool ``pool_name`` (whose ladder ``plan_stack`` already planned) and derive its engine
    arguments."""
    cloud, pool = spec.pool(pool_name)
    ladder = ladder or plan_ladder(spec, cloud, pool)
    arch = model_arch(model)
    tp, results = _choose_tp(model, arch, cloud, list(pool.instance_types))
    failing = next((r for r in results if not r.fits), None)
    per_node = min(r.replicas_per_node for r in results)
    weights_gib = results[0].weights_gib_per_gpu * tp
    args = None if failing else engine_args(
        arch, min(results, key=lambda r: r.kv_tokens), served_model_name=model.name,
        enable_prefix_caching=model.enable_prefix_caching)
    reason = f"{failing.instance_type}: {failing.reason}" if failing else ""
    return ServingPlan(
        model=model.name, pool=pool.name, cloud=cloud, region=spec.pool_region(cloud, pool), tp=tp,
        fits=failing is None, reason=reason, fits_by_type=tuple(results), replicas_per_node=per_node,
        max_replicas=ladder.max_nodes * per_node,
        load_format=_load_format(model, weights_gib), weights_gib=weights_gib, engine_args=args,
        queue_depth_target=model.autoscaling.queue_depth_target or DEFAULT_QUEUE_DEPTH_TARGET,
    )


def plan_serving(spec: StackSpec, ladders: dict[str, LadderPlan] | None = None) -> list[ServingPlan]:
    """Every (model, pool) pair of the stack, in configuration order (``ladders``: pool name -> its ladder)."""
    ladders = ladders or {}
    return [plan_model_on_pool(spec, model, pool, ladders.get(pool)) for model in spec.models for pool in model.pools]
