"""Per (model, pool) workload facts for Kubernetes: replica bounds, node share, tier, lifecycle."""
from __future__ import annotations

import math
from dataclasses import dataclass

from components.catalog import load_catalog
from components.catalog.versions import vllm_image, vllm_version
from components.k8s.manifests.lifecycle import GracePlan, grace_plan, rollout_strategy, startup_probe
from components.plan.ladder import plan_ladder
from components.plan.routing import ROUTER_ALIAS
from components.plan.sizing import ServingPlan, plan_serving
from components.spec import StackSpec
from components.spec.models import ModelSpec

#: Share of a node's vCPU and RAM (per GPU share) a replica requests; the rest is kubelet/system
#: reservations and the DaemonSets (CNI, device plugin, exporters). EKS reserves ~1 GiB on a 16 GiB node.
NODE_SHARE = 0.75
#: /dev/shm for NCCL between TP ranks (memory-backed; counts against the memory limit).
SHM_GIB_MAX = 16
#: Cache volume headroom over one revision's weights (tokenizer, config, partial downloads).
CACHE_HEADROOM = 1.15


@dataclass(frozen=True)
class WorkloadPlan:
    """Everything the manifest builders need about one Deployment (stable or canary)."""

    model: str
    pool: str
    cloud: str
    region: str
    namespace: str
    revision: str
    canary: bool
    tp: int
    min_replicas: int
    max_replicas: int
    image: str
    engine_args: tuple[str, ...]
    load_format: str
    weights_gib: float
    cpu: int
    memory_gib: int
    shm_gib: int
    cache_gib: int
    spot: bool
    grace: GracePlan
    strategy: dict
    startup_probe: dict
    hf_token: bool

    @property
    def fixed_replicas(self) -> bool:
        """The canary runs a fixed count; the stable track is autoscaled."""
        return self.canary


def canary_replicas(model: ModelSpec) -> int:
    """Replicas of the model's canary on each pool (0 without a canary)."""
    return model.canary.replicas if model.canary else 0


def replica_bounds(model: ModelSpec, plan: ServingPlan) -> tuple[int, int]:
    """(min, max) of the stable track on one pool: the model's bounds, clamped to what the pool hosts
    beside the canary (``components.spec.checks`` refuses configs where nothing fits)."""
    upper = max(0, min(model.replicas.max, plan.max_replicas - canary_replicas(model)))
    return min(model.replicas.min, upper), upper


def spare_gpus(spec: StackSpec, pool: str, plans: list[ServingPlan]) -> int:
    """GPUs of the pool's always-on floor left free with every model on the pool at its maximum."""
    cloud, pool_spec = spec.pool(pool)
    node = load_catalog().instance(cloud, pool_spec.instance_types[0])
    floor = plan_ladder(spec, cloud, pool_spec).floor * node.gpu_count
    models = {m.name: m for m in spec.models}
    used = sum((replica_bounds(models[p.model], p)[1] + canary_replicas(models[p.model])) * p.tp
               for p in plans if p.pool == pool)
    return floor - used


def node_share(cloud: str, instance_types: list[str], tp: int) -> tuple[int, int]:
    """(vCPU, GiB) one replica requests: its GPU share of the smallest node type of the pool."""
    catalog = load_catalog()
    nodes = [catalog.instance(cloud, t) for t in instance_types]
    cpu = min(n.vcpu * tp / n.gpu_count for n in nodes)
    ram = min(n.ram_gib * tp / n.gpu_count for n in nodes)
    return max(1, math.floor(cpu * NODE_SHARE)), max(1, math.floor(ram * NODE_SHARE))


def _with_router_alias(spec: StackSpec, args: tuple[str, ...]) -> tuple[str, ...]:
    """Behind the router, vLLM also answers to ``auto`` (tier and default rules keep the body's ``auto``):
    ``--served-model-name <name> auto``; the first name stays the one metrics are labelled with."""
    if not spec.serving.routing.enabled:
        return args
    index = args.index("--served-model-name") + 2
    return (*args[:index], ROUTER_ALIAS, *args[index:])


def workload_plan(spec: StackSpec, plan: ServingPlan, plans: list[ServingPlan], canary: bool = False) -> WorkloadPlan:
    """Plan the stable (or canary) Deployment of ``plan.model`` on ``plan.pool``."""
    model = next(m for m in spec.models if m.name == plan.model)
    cloud, pool_spec = spec.pool(plan.pool)
    version = spec.serving.vllm_version or vllm_version()
    spot = plan_ladder(spec, cloud, pool_spec).rung("spot") is not None
    low, high = replica_bounds(model, plan)
    if canary:
        low = high = canary_replicas(model)
    cpu, memory = node_share(cloud, list(pool_spec.instance_types), plan.tp)
    return WorkloadPlan(
        model=plan.model, pool=plan.pool, cloud=cloud, region=plan.region, namespace=spec.serving.namespace,
        revision=model.canary.revision if canary and model.canary else model.revision, canary=canary,
        tp=plan.tp, min_replicas=low, max_replicas=high, image=vllm_image(version),
        engine_args=_with_router_alias(spec, plan.engine_args),
        load_format=plan.load_format, weights_gib=plan.weights_gib, cpu=cpu, memory_gib=memory,
        shm_gib=min(SHM_GIB_MAX, max(1, memory // 10)) if plan.tp > 1 else 0,
        cache_gib=math.ceil(plan.weights_gib * CACHE_HEADROOM) + 1, spot=spot,
        grace=grace_plan(cloud, spot, version),
        strategy=rollout_strategy(spare_gpus(spec, plan.pool, plans), plan.tp),
        startup_probe=startup_probe(plan.weights_gib, plan.load_format),
        hf_token="hf_token" in spec.secrets,
    )


def plan_workloads(spec: StackSpec, pools: tuple[str, ...] | None = None) -> list[WorkloadPlan]:
    """Stable and canary workloads of every (model, pool) that fits, optionally only on ``pools``."""
    plans = plan_serving(spec)
    out: list[WorkloadPlan] = []
    for plan in plans:
        if not plan.fits or (pools is not None and plan.pool not in pools):
            continue
        out.append(workload_plan(spec, plan, plans))
        if next(m for m in spec.models if m.name == plan.model).canary:
            out.append(workload_plan(spec, plan, plans, canary=True))
    return out
