"""Each EKS managed node group of a GPU pool, planned once per ladder rung: capacity, types, sizes, labels, tags."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.catalog import load_catalog
from components.catalog.vocab import TAINT_EFFECT_API
from components.plan import autoscaler, scheduling
from components.plan.eks_node_groups import rung_instance_types, rung_update_config
from components.plan.ladder import LadderPlan
from components.spec.capacity import GpuPoolSpec

#: EKS ``capacityType`` of each tier (EKS API CreateNodegroup ``capacityType``: ON_DEMAND | SPOT | CAPACITY_BLOCK).
CAPACITY_TYPE = {"reserved": "ON_DEMAND", "capacity-block": "CAPACITY_BLOCK", "on-demand": "ON_DEMAND",
                 "spot": "SPOT", "on-demand-fallback": "ON_DEMAND"}
# EKS spells taint effects in its own enum (EKS API Taint.effect, checked 2026-11-23).


@dataclass(frozen=True)
class EksRungPlan:
    """One rung's managed node group (``components.aws.gpu_node_pool``).

    Attributes:
        tier: The rung's capacity tier.
        reservation: The reservation or capacity block the rung consumes, if any.
        reserved: Its nodes launch into the pool's reservation or capacity block (one zone, targeted template).
        capacity_type: EKS ``capacityType``.
        launch_template_type / node_group_types: Where the instance types are named (``rung_instance_types``).
        labels: Node labels (pool, tier, GPU model; a diversified rung of two boards lists both, ``A10G_L4``).
        taints: The GPU taint in EKS's spelling.
        min_size / max_size: Scaling bounds; a capacity block starts at 0 and the autoscaler scales it while the
            block is active (outside it launches fail and the next priority is tried).
        autoscaled: cluster-autoscaler owns the desired size (Pulumi ignores it).
        update_config: One node at a time; no surge onto a full reservation (``rung_update_config``).
        tags: Node group tags: the stack's, cluster-autoscaler discovery and node-template (scale from zero).
        asg_tags: The node-template tags, which EKS does not copy to the group's Auto Scaling group.
    """

    tier: str
    reservation: str | None
    reserved: bool
    capacity_type: str
    launch_template_type: str | None
    node_group_types: tuple[str, ...] | None
    labels: Mapping[str, str]
    taints: tuple[Mapping[str, str], ...]
    min_size: int
    max_size: int
    autoscaled: bool
    update_config: Mapping[str, int | str]
    tags: Mapping[str, str]
    asg_tags: Mapping[str, str]


def plan_eks_rungs(pool: GpuPoolSpec, ladder: LadderPlan, cluster_name: str,
                   stack_tags: Mapping[str, str]) -> tuple[EksRungPlan, ...]:
    """Plan every rung's node group of ``pool``, highest autoscaler priority first (the ladder's order)."""
    catalog = load_catalog()
    types = {t: catalog.instance("aws", t) for t in pool.instance_types}
    taint = scheduling.GPU_TAINT
    out = []
    for rung in ladder.rungs:
        gpu = "_".join(sorted({types[t].gpu.name for t in rung.instance_types}))
        labels = scheduling.node_labels(pool.name, rung.tier, gpu)
        gpus = min(types[t].gpu_count for t in rung.instance_types)
        template = autoscaler.node_template_tags(labels, taint, gpus)
        named = rung_instance_types(rung)
        block = rung.tier == "capacity-block"
        out.append(EksRungPlan(
            tier=rung.tier, reservation=rung.reservation, reserved=rung.tier in ("reserved", "capacity-block"), capacity_type=CAPACITY_TYPE[rung.tier],
            launch_template_type=named.launch_template, node_group_types=named.node_group, labels=labels,
            taints=({"key": taint["key"], "value": taint["value"], "effect": TAINT_EFFECT_API[taint["effect"]]},),
            min_size=0 if block else rung.min_nodes, max_size=rung.max_nodes, autoscaled=rung.autoscaled or block,
            update_config=rung_update_config(rung),
            tags={**stack_tags, **autoscaler.discovery_tags(cluster_name), **template},
            asg_tags={k: v for k, v in template.items() if k.startswith(autoscaler.TEMPLATE_PREFIX)}))
    return tuple(out)
