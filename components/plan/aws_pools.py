"""The AWS GPU pools, planned once: per pool its ladder, launch template settings, node labels and VM serving."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.catalog.versions import image, vllm_image
from components.plan import names, nodeadm
from components.plan.basis import PlanBasis
from components.plan.bootstrap import health_check_grace_seconds
from components.plan.eks_rungs import EksRungPlan, plan_eks_rungs
from components.plan.engine_args import EngineArgs
from components.plan.ladder import LadderPlan
from components.plan.tags import cost_tags, region_model_tag
from components.spec.capacity import GpuPoolSpec


@dataclass(frozen=True)
class LaunchTemplatePlan:
    """What ``components.aws.launch_template`` renders besides the per-rung targeting.

    Attributes:
        root_volume_gib: Size of the encrypted gp3 root volume (``gpu_pools[].root_volume_gib``).
        imds_hop_limit: IMDSv2 PUT response hop limit (``aws.imds_hop_limit``).
        tags: Cost tags of the template, its instances, volumes and interfaces (``AutoShutdown`` outside prod;
            ``Model`` in VM mode, where one pool serves one model).
    """

    root_volume_gib: int
    imds_hop_limit: int
    tags: Mapping[str, str]


@dataclass(frozen=True)
class VmServing:
    """VM mode: the one model a pool's VMs serve and how they boot.

    Attributes:
        model: The model (its name tags the pool's resources).
        weights_prefix: Key prefix of the model revision in the weights bucket.
        engine_args: vLLM arguments of the (model, pool) serving plan.
        vllm_image / dcgm_exporter_image / node_exporter_image: Pinned images the boot script runs.
        health_check_grace_seconds: Boot, image pull, weight copy and load time before health checks count.
    """

    model: str
    weights_prefix: str
    engine_args: EngineArgs | None
    vllm_image: str
    dcgm_exporter_image: str
    node_exporter_image: str
    health_check_grace_seconds: int


@dataclass(frozen=True)
class AwsPoolPlan:
    """One AWS GPU pool.

    Attributes:
        name: The pool.
        index: Its position in ``aws.gpu_pools`` (key paths of errors about it).
        region: Its region.
        ladder: Its capacity ladder.
        instance_types: Every type of the pool, in configuration order (the VM fleet's spot overrides).
        zones: ``gpu_pools[].zones``; empty: spread over the region's zones.
        reservation: Name of the reservation or capacity block its reserved rung consumes, if any.
        launch_template: Launch template settings.
        eks_rungs: EKS mode: a managed node group per rung, highest autoscaler priority first; none in VM mode.
        node_user_data: EKS mode: the nodeadm NodeConfig the node groups' launch template carries (RAID0 over
            the local NVMe disks); ``None`` in VM mode, whose boot script is rendered with the bucket's name.
        tags: Cost tags of the pool's resources (``Model`` and ``AutoShutdown`` in VM mode, stack tags on EKS).
        serving: VM mode: the model its VMs serve; ``None`` on EKS.
    """

    name: str
    index: int
    region: str
    ladder: LadderPlan
    instance_types: tuple[str, ...]
    zones: tuple[str, ...]
    reservation: str | None
    launch_template: LaunchTemplatePlan
    tags: Mapping[str, str]
    eks_rungs: tuple[EksRungPlan, ...] = ()
    node_user_data: str | None = None
    serving: VmServing | None = None


@dataclass(frozen=True)
class VmFleetPlan:
    """VM mode: what ``components.aws.vm_fleet`` renders for one region.

    Attributes:
        region: The region.
        environment: The stack's environment (scopes the drain-hook permission of the instance roles).
        pools: The region's pools, in configuration order (listener ports follow it: append new pools).
        load_balancer: ``nlb`` or ``alb`` (``aws.vm.load_balancer``).
        monitoring_cidrs: Extra networks admitted to the exporter ports (``aws.vm.monitoring_cidrs``).
        tags: Cost tags of region-wide resources: ``Model`` lists the models served there, joined by '+'.
    """

    region: str
    environment: str
    pools: tuple[AwsPoolPlan, ...]
    load_balancer: str
    monitoring_cidrs: tuple[str, ...]
    tags: Mapping[str, str]


def _vm_serving(basis: PlanBasis, pool: GpuPoolSpec) -> VmServing:
    spec = basis.spec
    model = next(m for m in spec.models if pool.name in m.pools)
    plan = basis.serving_plan(model.name, pool.name)
    return VmServing(
        model=model.name, weights_prefix=names.model_prefix(model.name, model.revision), engine_args=plan.engine_args,
        vllm_image=vllm_image(spec.serving.vllm_version), dcgm_exporter_image=image("dcgm_exporter"),
        node_exporter_image=image("node_exporter"),
        health_check_grace_seconds=health_check_grace_seconds(plan.weights_gib))


def plan_aws_pools(basis: PlanBasis) -> Mapping[str, AwsPoolPlan]:
    """Plan every AWS GPU pool, in configuration order (VM listener ports follow it)."""
    spec = basis.spec
    assert spec.aws is not None
    vm, shutdown = spec.aws.mode == "vm", spec.environment != "prod"
    out = {}
    for index, pool in enumerate(spec.aws.gpu_pools):
        serving = _vm_serving(basis, pool) if vm else None
        model = serving.model if serving else None
        ladder, region = basis.ladder(pool.name), spec.pool_region("aws", pool)
        cluster = names.cluster_name(spec.environment, "aws", region)
        out[pool.name] = AwsPoolPlan(
            name=pool.name, index=index, region=region, ladder=ladder,
            instance_types=tuple(pool.instance_types), zones=tuple(pool.zones), reservation=pool.capacity.reservation,
            launch_template=LaunchTemplatePlan(
                root_volume_gib=pool.root_volume_gib, imds_hop_limit=spec.aws.imds_hop_limit,
                tags=cost_tags(spec, model=model, auto_shutdown=shutdown)),
            tags=cost_tags(spec, model=model, auto_shutdown=shutdown) if vm else cost_tags(spec),
            eks_rungs=() if vm else plan_eks_rungs(pool, ladder, cluster, cost_tags(spec)),
            node_user_data=None if vm else nodeadm.node_config_user_data("RAID0"),
            serving=serving)
    return out


def plan_vm_fleets(basis: PlanBasis, pools: Mapping[str, AwsPoolPlan]) -> Mapping[str, VmFleetPlan]:
    """VM mode: one fleet per region holding AWS GPU pools; none on EKS."""
    spec = basis.spec
    assert spec.aws is not None
    if spec.aws.mode != "vm":
        return {}
    out = {}
    for region in dict.fromkeys(p.region for p in pools.values()):
        mine = tuple(p for p in pools.values() if p.region == region)
        out[region] = VmFleetPlan(
            region=region, environment=spec.environment, pools=mine, load_balancer=spec.aws.vm.load_balancer,
            monitoring_cidrs=tuple(str(n) for n in spec.aws.vm.monitoring_cidrs),
            tags=cost_tags(spec, model=region_model_tag(spec, region), auto_shutdown=spec.environment != "prod"))
    return out
