"""A VM-mode GPU pool's capacity ladder as Auto Scaling groups (reserved floor, on-demand base, spot burst)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.launch_template import GpuLaunchTemplate
from components.plan import names
from components.plan.aws_pools import AwsPoolPlan
from components.plan.bootstrap import DRAIN_HOOK, LIFECYCLE_HEARTBEAT_SECONDS
from components.plan.ladder import LadderPlan, Rung
from components.plan.scheduling import LABEL_POOL, LABEL_TIER
from components.plan.vm_scaling import VmScalingPlan

#: Tiers a separate group pinned to the reservation's AZ serves.
RESERVED_TIERS = ("reserved", "capacity-block")


@dataclass(frozen=True)
class GpuInstanceGroupArgs:
    """Inputs of one pool's groups.

    Attributes:
        pool: The pool's plan (its name and instance types).
        ladder: The pool's ``plan_ladder`` rungs.
        launch_template: Template of the on-demand base and spot burst (no reservation targeting).
        subnet_ids: Private subnets the burst spreads over (one per AZ the pool uses).
        target_group_arns: Load-balancer target groups the instances register with.
        tags: Tags every group carries and propagates to its instances at launch.
        health_check_grace_seconds: Boot + weight copy + load time before health checks count.
        reserved_launch_template: Template targeting the reservation (when the ladder has a reserved rung).
        reserved_subnet_id: The private subnet in the reservation's AZ.
        scaling: The fleet group's target-tracking policy (``plan/vm_scaling.py``); None: a fixed-size fleet.
    """

    pool: AwsPoolPlan
    ladder: LadderPlan
    launch_template: GpuLaunchTemplate
    subnet_ids: Sequence[pulumi.Input[str]]
    target_group_arns: Sequence[pulumi.Input[str]]
    tags: dict[str, str]
    health_check_grace_seconds: int
    reserved_launch_template: GpuLaunchTemplate | None = None
    reserved_subnet_id: pulumi.Input[str] | None = None
    scaling: VmScalingPlan | None = None


class GpuInstanceGroup(pulumi.ComponentResource):
    """The ladder of one pool in VM mode.

    The reserved floor (ODCR or Capacity Block) is its own group ``<pool>-reserved|capacity-block`` in the
    reservation's AZ subnet, launching only into the reservation: in a multi-AZ mixed group, AZ balancing
    and spot would launch outside the reservation while it bills unused. The rest of the ladder is one
    mixed-instances group ``<pool>-fleet``: the on-demand base, then spot over every type of the pool.

    Attributes:
        group_names: Pulumi resource name -> Auto Scaling group name.
    """

    group_names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: GpuInstanceGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpuinfra:aws:GpuInstanceGroup", name, None, opts)
        self._args = args
        self.group_names = {}
        reserved = next((r for r in args.ladder.rungs if r.tier in RESERVED_TIERS), None)
        if reserved is not None:
            self._create_reserved_group(reserved)
        burst = [r for r in args.ladder.rungs if r.tier in ("on-demand", "spot")]
        if burst:
            self._create_fleet_group(burst)
        self.register_outputs({"group_names": self.group_names})

    def _common(self, tier: str | None = None) -> dict:
        """Arguments every group of the pool shares: health, drain hook, load balancer, tags. The pool (and a
        single-tier group's tier) ride along as tags with the node-label keys, so policies and cost reports
        identify rungs from recorded inputs, never from resource names."""
        args = self._args
        tags = {**args.tags, LABEL_POOL: args.pool.name, **({LABEL_TIER: tier} if tier else {})}
        return {
            "health_check_type": "ELB",
            "health_check_grace_period": args.health_check_grace_seconds,
            "default_instance_warmup": args.health_check_grace_seconds,
            "target_group_arns": list(args.target_group_arns),
            # GPU capacity can take long to appear (or never, for spot): do not block `pulumi up` on it.
            "wait_for_capacity_timeout": "0",
            "initial_lifecycle_hooks": [aws.autoscaling.GroupInitialLifecycleHookArgs(
                name=DRAIN_HOOK, lifecycle_transition="autoscaling:EC2_INSTANCE_TERMINATING",
                heartbeat_timeout=LIFECYCLE_HEARTBEAT_SECONDS, default_result="CONTINUE")],
            "tags": [aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=True)
                     for k, v in sorted(tags.items())],
        }

    def _create_reserved_group(self, rung: Rung) -> None:
        args = self._args
        if args.reserved_launch_template is None or args.reserved_subnet_id is None:
            raise ValueError(f"pool {args.pool.name}: a {rung.tier} rung needs the reservation's template and subnet")
        resource = names.rung_name(args.pool.name, rung.tier)
        group = aws.autoscaling.Group(
            resource,
            min_size=rung.min_nodes,
            max_size=rung.max_nodes,
            vpc_zone_identifiers=[args.reserved_subnet_id],
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=args.reserved_launch_template.id, version="$Latest"),
            **self._common(rung.tier),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.group_names[resource] = group.name

    def _create_fleet_group(self, rungs: list[Rung]) -> None:
        args = self._args
        on_demand = sum(r.min_nodes for r in rungs if r.tier == "on-demand")
        has_spot = any(r.tier == "spot" for r in rungs)
        resource = names.fleet_name(args.pool.name)
        group = aws.autoscaling.Group(
            resource,
            min_size=on_demand,
            max_size=sum(r.max_nodes for r in rungs),
            vpc_zone_identifiers=list(args.subnet_ids),
            capacity_rebalance=has_spot,
            # Replace before terminating (rebalancing, instance refresh): a GPU replica is never lost first.
            instance_maintenance_policy=aws.autoscaling.GroupInstanceMaintenancePolicyArgs(
                min_healthy_percentage=100, max_healthy_percentage=200),
            mixed_instances_policy=aws.autoscaling.GroupMixedInstancesPolicyArgs(
                instances_distribution=aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs(
                    on_demand_allocation_strategy="prioritized",
                    on_demand_base_capacity=on_demand,
                    on_demand_percentage_above_base_capacity=0 if has_spot else 100,
                    spot_allocation_strategy="price-capacity-optimized"),
                launch_template=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateArgs(
                    launch_template_specification=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateLaunchTemplateSpecificationArgs(
                        launch_template_id=args.launch_template.id, version="$Latest"),
                    overrides=[aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArgs(instance_type=t)
                               for t in args.pool.instance_types])),
            **self._common(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.group_names[resource] = group.name
        if args.scaling is not None:
            self._create_scaling_policy(resource, group, args.scaling)

    def _create_scaling_policy(self, resource: str, group: aws.autoscaling.Group, plan: VmScalingPlan) -> None:
        """Target tracking on waiting requests per VM: without a policy desired stays at min, the burst never runs.

        Scale-in stays enabled: the group's min_size (the on-demand floor) bounds it, and the reserved floor is a
        separate fixed group no policy touches. No ``estimated_instance_warmup``: the group's
        ``default_instance_warmup`` (boot + weights) applies, and PutScalingPolicy takes no ``Cooldown`` for
        target tracking ("Valid only if the policy type is SimpleScaling", EC2 Auto Scaling API reference).
        """
        metric = aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationArgs(
            namespace=plan.namespace, metric_name=plan.metric_name, statistic=plan.statistic,
            metric_dimensions=[
                aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricDimensionArgs(
                    name=key, value=value) for key, value in plan.dimensions])
        aws.autoscaling.Policy(
            f"{resource}-queue", autoscaling_group_name=group.name, policy_type="TargetTrackingScaling",
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                target_value=plan.target_value, disable_scale_in=False, customized_metric_specification=metric),
            opts=pulumi.ResourceOptions(parent=self))
