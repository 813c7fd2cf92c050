"""GpuInstanceGroup: one pool's ladder as regional MIGs (one per rung) with autoscaling and autohealing."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.gcp.instance_template import GpuInstanceTemplate, GpuInstanceTemplateArgs
from components.plan import names
from components.plan.vm_autoscaling import QueueScaling
from components.plan.gcp_rollout import MigRollout, delete_before_replace
from components.plan.gcp_shapes import GcpPoolSettings, GcpShape
from components.plan.ladder import LadderPlan, Rung
from components.plan.scheduling import GCE_LABEL_POOL, GCE_LABEL_TIER

#: Compute Engine caps a MIG's autohealing initial delay at one hour.
MAX_INITIAL_DELAY = 3600


@dataclass(frozen=True)
class GpuInstanceGroupArgs:
    """Inputs of :class:`GpuInstanceGroup`.

    Attributes:
        pool: The pool; ladder: its rungs (``plan_ladder``); shape: its node shape.
        zones: Zones per rung tier (``gcp_shapes.rung_zones``; the reservation's zone for the reserved rung).
        image: Dated Deep Learning VM image self link.
        startup_script: The pool's VM bootstrap; service_account_email: the pool's VM identity.
        autoheal_health_check: Health check id used for autohealing.
        initial_delay_seconds: Autohealing grace (``bootstrap.health_check_grace_seconds``).
        scaling: Burst rung tier -> its queue metric rule (``vm_autoscaling.queue_scaling``).
        rollouts: Rung tier -> how its MIG rolls to a new template (``gcp_rollout.mig_rollout``).
        depends_on: Reservations the reserved rung consumes.
    """

    pool: GcpPoolSettings
    ladder: LadderPlan
    shape: GcpShape
    zones: Mapping[str, list[str]]
    image: pulumi.Input[str]
    subnetwork: pulumi.Input[str]
    service_account_email: pulumi.Input[str]
    startup_script: str
    autoheal_health_check: pulumi.Input[str]
    initial_delay_seconds: int
    scaling: Mapping[str, QueueScaling]
    provider: gcp.Provider
    rollouts: Mapping[str, MigRollout]
    labels: dict[str, str] = field(default_factory=dict)
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class GpuInstanceGroup(pulumi.ComponentResource):
    """Regional MIGs named ``rung_name(pool, tier)``: fixed-size floors (reserved, on-demand) and
    autoscaled bursts (spot, on-demand fallback), each behind the region's internal load balancer."""

    groups: dict[str, gcp.compute.RegionInstanceGroupManager]

    def __init__(self, name: str, args: GpuInstanceGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create a template, a MIG and (for bursts) an autoscaler per rung."""
        super().__init__("gpuinfra:gcp:GpuInstanceGroup", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.groups = {}
        previous: gcp.compute.RegionInstanceGroupManager | None = None
        for rung in args.ladder.rungs:
            template = self._create_template(rung)
            # Rungs roll one after another in ladder order: each MIG waits for the one before it, and the
            # floors' updates last until their VMs serve the new template again.
            group = previous = self._create_group(rung, template, previous)
            if rung.autoscaled:
                self._create_autoscaler(rung, group)
            self.groups[rung.tier] = group
        self.instance_groups = [g.instance_group for g in self.groups.values()]
        self.register_outputs({"instance_groups": self.instance_groups})

    def _create_template(self, rung: Rung) -> GpuInstanceTemplate:
        a = self._args
        labels = {**a.labels, GCE_LABEL_POOL: a.pool.name, GCE_LABEL_TIER: rung.tier}
        return GpuInstanceTemplate(names.rung_name(a.pool.name, rung.tier), GpuInstanceTemplateArgs(
            shape=a.shape, provisioning=a.pool.provisioning[rung.tier], max_run_seconds=a.pool.max_run[rung.tier],
            reservation=rung.reservation, image=a.image, boot_disk_gib=a.pool.root_volume_gib,
            subnetwork=a.subnetwork, service_account_email=a.service_account_email, startup_script=a.startup_script,
            labels=labels), opts=self._child)

    def _create_group(self, rung: Rung, template: GpuInstanceTemplate,
                      previous: gcp.compute.RegionInstanceGroupManager | None) -> gcp.compute.RegionInstanceGroupManager:
        a, rollout = self._args, self._args.rollouts[rung.tier]
        rung_name = names.rung_name(a.pool.name, rung.tier)
        zones = list(a.zones[rung.tier])
        # Floors spread EVEN for availability; bursts go ANY (wherever spot/GPU capacity exists).
        shape = "ANY" if rung.autoscaled else "EVEN"
        timeout = f"{rollout.timeout_seconds}s"
        opts = pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
            depends_on=[*(a.depends_on if rung.reservation else []), *([previous] if previous else [])] or None,
            # The provider's instance wait runs under the create timeout on updates too (v7.45.0
            # computeRIGMWaitForInstanceStatus uses TimeoutCreate).
            custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout) if rollout.wait else None,
            # The autoscaler owns the size of a burst group.
            ignore_changes=["targetSize"] if rung.autoscaled else None,
            # A replaced reserved MIG (zones, name) would wait for VMs the old group's VMs hold.
            delete_before_replace=delete_before_replace(rung)))
        return gcp.compute.RegionInstanceGroupManager(
            rung_name, base_instance_name=rung_name[:50], region=a.ladder.region,
            versions=[gcp.compute.RegionInstanceGroupManagerVersionArgs(name="primary",
                                                                        instance_template=template.self_link)],
            target_size=None if rung.autoscaled else rung.min_nodes,
            distribution_policy_zones=zones, distribution_policy_target_shape=shape,
            auto_healing_policies=gcp.compute.RegionInstanceGroupManagerAutoHealingPoliciesArgs(
                health_check=a.autoheal_health_check, initial_delay_sec=min(MAX_INITIAL_DELAY, a.initial_delay_seconds)),
            update_policy=gcp.compute.RegionInstanceGroupManagerUpdatePolicyArgs(
                type="PROACTIVE", minimal_action="REPLACE", replacement_method=rollout.replacement_method,
                instance_redistribution_type="NONE", max_surge_fixed=rollout.max_surge,
                max_unavailable_fixed=rollout.max_unavailable),
            wait_for_instances=rollout.wait, wait_for_instances_status="UPDATED" if rollout.wait else None, opts=opts)

    def _create_autoscaler(self, rung: Rung, group: gcp.compute.RegionInstanceGroupManager) -> None:
        a = self._args
        rule = a.scaling[rung.tier]
        gcp.compute.RegionAutoscaler(
            f"{names.rung_name(a.pool.name, rung.tier)}-autoscaler", region=a.ladder.region, target=group.id,
            autoscaling_policy=gcp.compute.RegionAutoscalerAutoscalingPolicyArgs(
                min_replicas=rung.min_nodes, max_replicas=rung.max_nodes, mode="ON",
                # A new VM reports load only after boot + weights + model load.
                cooldown_period=min(MAX_INITIAL_DELAY, a.initial_delay_seconds),
                # The pool's own queue (per-group metric): spot by work per VM (scales from zero), the fallback
                # only above the depth the full spot rung takes (its shortfall).
                metrics=[gcp.compute.RegionAutoscalerAutoscalingPolicyMetricArgs(
                    name=rule.metric, filter=rule.filter, single_instance_assignment=rule.single_instance_assignment,
                    target=rule.utilization_target, type="GAUGE" if rule.utilization_target else None)],
                # Remove at most one GPU VM per 15 minutes: cold starts take minutes, do not flap.
                scale_in_control=gcp.compute.RegionAutoscalerAutoscalingPolicyScaleInControlArgs(
                    max_scaled_in_replicas=gcp.compute.RegionAutoscalerAutoscalingPolicyScaleInControlMaxScaledInReplicasArgs(
                        fixed=1),
                    time_window_sec=900)),
            opts=self._child)

