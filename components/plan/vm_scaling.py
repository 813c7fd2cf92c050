"""AWS VM-mode burst scaling: each pool's fleet group tracks vLLM's waiting requests per VM, within the ladder."""
from __future__ import annotations

from dataclasses import dataclass

from components.catalog.metrics import vllm_metrics
from components.catalog.versions import vllm_version
from components.plan import names
from components.plan.basis import PlanBasis
from components.plan.bootstrap import METRICS_NAMESPACE, QUEUE_DIMENSION, QUEUE_METRIC_NAME
from components.plan.ladder import LadderPlan

#: ``Average`` of one data point per VM and minute = waiting requests per serving VM, the per-capacity-unit
#: shape target tracking needs (EC2 Auto Scaling user guide, "Target tracking scaling policies": the metric must
#: fall as capacity grows). A Sum would not fall when a VM is added.
QUEUE_STATISTIC = "Average"
#: Tiers the mixed-instances fleet group serves (``instance_group.GpuInstanceGroup``); the reserved floor is a
#: fixed group of its own (min = max), which no policy may move.
FLEET_TIERS = ("on-demand", "spot")


@dataclass(frozen=True)
class VmScalingPlan:
    """The target-tracking policy of one pool's fleet group (on-demand base + spot burst).

    Attributes:
        pool: The pool; group: the Auto Scaling group resource it scales (``names.fleet_name``).
        min_nodes: The group's floor (the on-demand rung): scaling never goes below it.
        max_nodes: The floor plus the spot burst's maximum.
        namespace / metric_name / dimensions / statistic: The CloudWatch metric the policy tracks.
        target_value: Waiting requests per VM the policy holds: the serving plan's ``queue_depth_target`` (from
            traffic, else ``models[].autoscaling.queue_depth_target``) of the pool's model; one vLLM server per VM.
        waiting_metric: vLLM's waiting-request gauge the VMs sum and publish (name in the deployed release).
    """

    pool: str
    group: str
    min_nodes: int
    max_nodes: int
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    target_value: float
    waiting_metric: str


def fleet_bounds(ladder: LadderPlan) -> tuple[int, int]:
    """``(min, max)`` of a pool's fleet group: its on-demand floor, and that floor plus the spot burst."""
    rungs = [r for r in ladder.rungs if r.tier in FLEET_TIERS]
    return sum(r.min_nodes for r in rungs), sum(r.max_nodes for r in rungs)


def plan_vm_scaling(basis: PlanBasis) -> dict[str, VmScalingPlan]:
    """Scaling of every AWS VM-mode pool whose fleet group can grow (a fixed group gets no policy).

    Args:
        basis: The planned ladders and sizing.

    Returns:
        Pool name -> its fleet group's policy; empty outside AWS VM mode.
    """
    spec = basis.spec
    if spec.aws is None or spec.aws.mode != "vm":
        return {}
    waiting = vllm_metrics(spec.serving.vllm_version or vllm_version()).requests_waiting
    out: dict[str, VmScalingPlan] = {}
    for pool in spec.aws.gpu_pools:
        low, high = fleet_bounds(basis.ladder(pool.name))
        if high <= low:
            continue
        model = next((m for m in spec.models if pool.name in m.pools), None)
        if model is None:
            continue
        out[pool.name] = VmScalingPlan(
            pool=pool.name, group=names.fleet_name(pool.name), min_nodes=low, max_nodes=high, namespace=METRICS_NAMESPACE,
            metric_name=QUEUE_METRIC_NAME, dimensions=((QUEUE_DIMENSION, pool.name),), statistic=QUEUE_STATISTIC,
            target_value=float(basis.serving_plan(model.name, pool.name).queue_depth_target), waiting_metric=waiting)
    return out
