"""Per (model, pool) workload facts for Kubernetes: replica bounds, node share, tier, lifecycle."""
from __future__ import annotations

import math
from dataclasses import dataclass

from components.catalog import load_catalog
from components.catalog.versions import vllm_image, vllm_version
from components.plan.lifecycle import GracePlan, grace_plan, rollout_strategy, startup_probe
from components.plan.basis import PlanBasis
from components.plan.compute_class import compute_class_name
from components.plan.engine_args import EngineArgs
from components.plan.routing import ROUTER_ALIAS
from components.plan.sizing import ServingPlan
from components.spec.models import ModelSpec
from components.catalog.vocab import GCP, Cloud

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
    cloud: Cloud
    region: str
    namespace: str
    revision: str
    canary: bool
    tp: int
    min_replicas: int
    max_replicas: int
    image: str
    engine_args: EngineArgs
    """The sized arguments, with the router's alias when the router runs (``model`` is still the repo id: the
    manifest builders point it at the cache or the bucket)."""
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
    cache_revisions: tuple[str, ...] = ()
    """Revisions of the model a node's weight cache keeps (active and canary); the sync prunes the others."""
    compute_class: str | None = None
    """GKE: the pool's custom ComputeClass the pods select (``compute_class.compute_class_name``); None on EKS."""
    queue_depth_target: int = 4
    """Waiting requests per replica that add one (the plan's, derived from traffic or set in the spec)."""

    @property
    def fixed_replicas(self) -> bool:
        """The canary runs a fixed count; the stable track is autoscaled."""
        return self.canary


def canary_replicas(model: ModelSpec) -> int:
    """Replicas of the model's canary on each pool (0 without a canary)."""
    return model.canary.replicas if model.canary else 0


def replica_bounds(model: ModelSpec, plan: ServingPlan) -> tuple[int, int]:
    """(min, max) of the stable track on one pool: the model's bounds, clamped to what the pool hosts
    beside the canary (``components.plan.checks`` refuses configs where nothing fits)."""
    upper = max(0, min(model.replicas.max, plan.max_replicas - canary_replicas(model)))
    return min(model.replicas.min, upper), upper


def spare_gpus(basis: PlanBasis, pool: str) -> int:
    """GPUs of the pool's always-on floor left free with every model on the pool at its maximum."""
    cloud, pool_spec = basis.spec.pool(pool)
    node = load_catalog().instance(cloud, pool_spec.instance_types[0])
    floor = basis.ladder(pool).floor * node.gpu_count
    used = sum((replica_bounds(basis.model(p.model), p)[1] + canary_replicas(basis.model(p.model))) * p.tp
               for p in basis.on_pool(pool))
    return floor - used


def node_share(cloud: Cloud, instance_types: list[str], tp: int) -> tuple[int, int]:
    """(vCPU, GiB) one replica requests: its GPU share of the smallest node type of the pool."""
    catalog = load_catalog()
    nodes = [catalog.instance(cloud, t) for t in instance_types]
    cpu = min(n.vcpu * tp / n.gpu_count for n in nodes)
    ram = min(n.ram_gib * tp / n.gpu_count for n in nodes)
    return max(1, math.floor(cpu * NODE_SHARE)), max(1, math.floor(ram * NODE_SHARE))


def _with_router_alias(routed: bool, args: EngineArgs) -> EngineArgs:
    """Behind the router, vLLM also answers to ``auto`` (tier and default rules keep the body's ``auto``):
    ``--served-model-name <name> auto``; the first name stays the one metrics are labelled with."""
    return args.with_(served_model_names=(*args.served_model_names, ROUTER_ALIAS)) if routed else args


def workload_plan(basis: PlanBasis, plan: ServingPlan, canary: bool = False) -> WorkloadPlan:
    """Plan the stable (or canary) Deployment of ``plan.model`` on ``plan.pool`` (a pool the model fits)."""
    spec = basis.spec
    assert plan.engine_args is not None, "only fitting (model, pool) pairs get a workload"
    model = basis.model(plan.model)
    cloud, pool_spec = spec.pool(plan.pool)
    version = spec.serving.vllm_version or vllm_version()
    spot = basis.ladder(plan.pool).rung("spot") is not None
    low, high = replica_bounds(model, plan)
    if canary:
        low = high = canary_replicas(model)
    cpu, memory = node_share(cloud, list(pool_spec.instance_types), plan.tp)
    return WorkloadPlan(
        model=plan.model, pool=plan.pool, cloud=cloud, region=plan.region, namespace=spec.serving.namespace,
        revision=model.canary.revision if canary and model.canary else model.revision, canary=canary,
        tp=plan.tp, min_replicas=low, max_replicas=high, image=vllm_image(version),
        engine_args=_with_router_alias(spec.serving.routing.enabled, plan.engine_args),
        load_format=plan.load_format, weights_gib=plan.weights_gib, cpu=cpu, memory_gib=memory,
        shm_gib=min(SHM_GIB_MAX, max(1, memory // 10)) if plan.tp > 1 else 0,
        cache_gib=math.ceil(plan.weights_gib * CACHE_HEADROOM) + 1, spot=spot,
        grace=grace_plan(cloud, spot, version),
        strategy=rollout_strategy(spare_gpus(basis, plan.pool), plan.tp),
        startup_probe=startup_probe(plan.weights_gib, plan.load_format),
        hf_token="hf_token" in spec.secrets,
        cache_revisions=tuple(dict.fromkeys([model.revision, *([model.canary.revision] if model.canary else [])])),
        compute_class=compute_class_name(plan.pool) if cloud == GCP else None,
        queue_depth_target=plan.queue_depth_target,
    )


def plan_workloads(basis: PlanBasis) -> list[WorkloadPlan]:
    """Stable and canary workloads of every (model, pool) that fits on a Kubernetes pool (eks or gke mode)."""
    spec = basis.spec
    out: list[WorkloadPlan] = []
    for plan in basis.serving:
        section = spec.section(plan.cloud)
        if not plan.fits or section is None or section.mode == "vm":
            continue
        out.append(workload_plan(basis, plan))
        if basis.model(plan.model).canary:
            out.append(workload_plan(basis, plan, canary=True))
    return out
