"""EksGpuNodePool: one EKS managed node group per rung of a GPU pool's capacity ladder."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.launch_template import GpuLaunchTemplate, GpuLaunchTemplateArgs
from components.plan import autoscaler, names
from components.plan.aws_plan import EksAmiPlan
from components.plan.aws_pools import AwsPoolPlan
from components.plan.eks_rungs import EksRungPlan

AMI_TYPE = "AL2023_x86_64_NVIDIA"


@dataclass(frozen=True)
class Reservation:
    """A reservation a rung consumes: its id (ODCR or capacity block) and zone."""

    id: pulumi.Input[str]
    availability_zone: str


@dataclass(frozen=True)
class EksGpuNodePoolArgs:
    """Inputs of :class:`EksGpuNodePool`.

    Attributes:
        pool: The pool's plan (its zones, launch template, node user data and a node group plan per rung).
        cluster: The cluster resource (its ``name`` output orders node groups after it).
        node_role_arn: Node IAM role.
        subnet_ids_by_az: Private subnets of the region per zone.
        spread_zones: Zones unreserved rungs spread over without the pool's zones (empty: every zone); a zone added
            only for a reservation stays out, so adding one never changes (replaces) another node group.
        provider: Explicit AWS provider of the region.
        ami: The planned AMI release of the GPU node groups (pinned) and the parameter naming AWS's recommended one.
        reservation: The reservation behind the reserved / capacity-block rung, if any.
    """

    pool: AwsPoolPlan
    cluster: aws.eks.Cluster
    node_role_arn: pulumi.Input[str]
    subnet_ids_by_az: dict[str, pulumi.Input[str]]
    provider: aws.Provider
    ami: EksAmiPlan
    spread_zones: tuple[str, ...] = ()
    reservation: Reservation | None = None


class EksGpuNodePool(pulumi.ComponentResource):
    """Managed node groups named ``names.rung_name(pool, tier)``, highest autoscaler priority first."""

    node_groups: dict[str, aws.eks.NodeGroup]

    def __init__(self, name: str, args: EksGpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create one launch template and node group per planned rung of ``args.pool``."""
        super().__init__("gpuinfra:aws:EksGpuNodePool", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self._release = self._ami_release()
        self.node_groups = {rung.tier: self._create_rung(rung) for rung in args.pool.eks_rungs}
        self.register_outputs({"node_group_names": {t: g.node_group_name for t, g in self.node_groups.items()}})

    def _subnets(self, rung: EksRungPlan) -> list[pulumi.Input[str]]:
        """Reserved capacity lives in one zone: those nodes launch there and nowhere else."""
        by_az = self._args.subnet_ids_by_az
        if rung.reserved:
            reservation = self._require_reservation(rung)
            if reservation.availability_zone not in by_az:
                raise ValueError(f"reservation {rung.reservation!r} is in {reservation.availability_zone}, "
                                 f"which has no private subnet (zones: {', '.join(sorted(by_az))})")
            return [by_az[reservation.availability_zone]]
        zones = [z for z in self._args.pool.zones if z in by_az] or sorted(self._args.spread_zones or by_az)
        return [by_az[z] for z in zones]

    def _require_reservation(self, rung: EksRungPlan) -> Reservation:
        if self._args.reservation is None:
            raise ValueError(f"pool {self._args.pool.name!r}: rung {rung.tier} needs reservation {rung.reservation!r}")
        return self._args.reservation

    def _ami_release(self) -> str:
        """The planned (pinned) AMI release; AWS's recommended one is shown beside it as an available update.

        A release change rolls every node group of the pool, so it never follows the SSM parameter by itself.
        """
        ami = self._args.ami
        recommended = aws.ssm.get_parameter_output(  # the pool's region (the component itself has no provider)
            name=ami.recommended_parameter,
            opts=pulumi.InvokeOutputOptions(parent=self, provider=self._args.provider)).value
        pool = self._args.pool.name

        def report(value: str) -> dict[str, object]:
            if value != ami.release_version:
                pulumi.log.info(f"pool {pool}: EKS AMI release {value} is recommended (running {ami.release_version}); "
                                "adopt it by editing eks_ami_release in components/catalog/data/versions.yaml", self)
            return {"pinned": ami.release_version, "recommended": value,
                    "update_available": value != ami.release_version}

        pulumi.export(f"eks_ami_release_{pool.replace('-', '_')}", recommended.apply(report))
        return ami.release_version

    def _launch_template(self, rung: EksRungPlan, resource_name: str) -> GpuLaunchTemplate:
        """The shared GPU launch template with the RAID0 NodeConfig, targeting the reservation for reserved rungs."""
        pool = self._args.pool
        assert pool.node_user_data is not None, "EKS pools carry their NodeConfig"
        return GpuLaunchTemplate(resource_name, GpuLaunchTemplateArgs(
            plan=pool.launch_template, region=pool.ladder.region, mode="eks", user_data=pool.node_user_data,
            capacity_reservation_id=self._require_reservation(rung).id if rung.reserved else None,
            capacity_block=rung.tier == "capacity-block", instance_type=rung.launch_template_type,
            extra_tags={"Pool": pool.name, "CapacityTier": rung.tier}), opts=self._child)

    def _create_rung(self, rung: EksRungPlan) -> aws.eks.NodeGroup:
        args = self._args
        resource_name = names.rung_name(args.pool.name, rung.tier)
        template = self._launch_template(rung, resource_name)
        group = aws.eks.NodeGroup(
            resource_name, cluster_name=args.cluster.name, node_role_arn=args.node_role_arn,
            subnet_ids=self._subnets(rung), ami_type=AMI_TYPE, release_version=self._release,
            capacity_type=rung.capacity_type,
            instance_types=list(rung.node_group_types) if rung.node_group_types is not None else None,
            labels=dict(rung.labels), taints=[dict(t) for t in rung.taints],
            scaling_config={"min_size": rung.min_size, "desired_size": rung.min_size, "max_size": rung.max_size},
            update_config=dict(rung.update_config),
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            tags=dict(rung.tags),
            opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
                ignore_changes=["scalingConfig.desiredSize"] if rung.autoscaled else [])))
        self._tag_asg(resource_name, group, dict(rung.asg_tags))
        return group

    def _tag_asg(self, resource_name: str, group: aws.eks.NodeGroup, tags: dict[str, str]) -> None:
        """Node groups do not copy their tags to their Auto Scaling group, where cluster-autoscaler reads the
        node-template tags for scale-from-zero: tag the group's ASG directly."""
        asg = group.resources.apply(lambda r: r[0].autoscaling_groups[0].name)
        for key, value in sorted(tags.items()):
            short = key.removeprefix(f"{autoscaler.TEMPLATE_PREFIX}/").replace("/", "-")
            aws.autoscaling.Tag(f"{resource_name}-asg-{short}", autoscaling_group_name=asg,
                                tag={"key": key, "value": value, "propagate_at_launch": False}, opts=self._child)
