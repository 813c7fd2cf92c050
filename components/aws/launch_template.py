"""GPU launch template shared by VM-mode Auto Scaling groups and EKS managed node groups."""
from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.catalog.versions import ami_parameter
from components.plan.aws_pools import LaunchTemplatePlan

#: Root device of the DLAMI and EKS AL2023 AMIs (both Amazon Linux 2023).
ROOT_DEVICE = "/dev/xvda"


@dataclass(frozen=True)
class GpuLaunchTemplateArgs:
    """Inputs of a GPU launch template.

    Attributes:
        plan: The pool's launch template settings (root volume, IMDS hop limit, cost tags).
        mode: ``vm`` (DLAMI from its public SSM parameter, instance profile and security groups in the
            template) or ``eks`` (no AMI: the managed node group's ``ami_type`` and ``release_version`` pick the
            EKS AL2023 NVIDIA AMI and EKS merges its bootstrap; no instance profile, no network interface: EKS
            attaches the cluster security group).
        user_data: Plain text (cloud-config or nodeadm MIME); the template base64-encodes it.
        capacity_reservation_id: Launch into this reservation only (targeted ODCR or Capacity Block).
        capacity_block: Market type ``capacity-block`` (needs ``capacity_reservation_id``).
        ami_id: Image id (VM mode); default: the DLAMI's public SSM parameter.
        extra_tags: Tags beside the plan's cost tags (e.g. Pool, CapacityTier).
        instance_type: Fixed type (a reservation's); ``None`` when the group or node group picks types.
    """

    plan: LaunchTemplatePlan
    region: str
    mode: Literal["vm", "eks"]
    user_data: pulumi.Input[str]
    security_group_ids: Sequence[pulumi.Input[str]] = ()
    instance_profile_arn: pulumi.Input[str] | None = None
    capacity_reservation_id: pulumi.Input[str] | None = None
    capacity_block: bool = False
    ami_id: pulumi.Input[str] | None = None
    instance_type: str | None = None
    extra_tags: dict[str, str] | None = None


class GpuLaunchTemplate(pulumi.ComponentResource):
    """IMDSv2-only, encrypted gp3 root, no public IP, tagged instances and volumes, a GPU AMI."""

    id: pulumi.Output[str]
    latest_version: pulumi.Output[int]

    def __init__(self, name: str, args: GpuLaunchTemplateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpuinfra:aws:GpuLaunchTemplate", name, None, opts)
        if args.mode == "eks" and (args.instance_profile_arn is not None or args.ami_id is not None):
            raise ValueError("EKS managed node groups forbid an instance profile or AMI in the launch template")
        if args.capacity_block and args.capacity_reservation_id is None:
            raise ValueError("a capacity-block launch template needs capacity_reservation_id")
        self._args = args
        template = self._create_template(name, self._ami_id())
        self.id = template.id
        self.latest_version = template.latest_version
        self.register_outputs({"id": self.id, "latest_version": self.latest_version})

    def _ami_id(self) -> pulumi.Input[str] | None:
        """VM mode: the given AMI, else the DLAMI's public SSM parameter through this region's provider."""
        if self._args.mode == "eks":
            return None
        if self._args.ami_id is not None:
            return self._args.ami_id
        result = aws.ssm.get_parameter_output(name=ami_parameter("dlami_base_gpu_al2023"),
                                              opts=pulumi.InvokeOutputOptions(parent=self))
        return result.value

    def _tags(self) -> dict[str, str]:
        return {**self._args.plan.tags, **(self._args.extra_tags or {})}

    def _reservation(self) -> dict:
        """Targeting of a reservation (and the capacity-block market type), or nothing."""
        args = self._args
        if args.capacity_reservation_id is None:
            return {}
        out: dict = {"capacity_reservation_specification": aws.ec2.LaunchTemplateCapacityReservationSpecificationArgs(
            capacity_reservation_target=aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(
                capacity_reservation_id=args.capacity_reservation_id))}
        if args.capacity_block:
            out["instance_market_options"] = aws.ec2.LaunchTemplateInstanceMarketOptionsArgs(market_type="capacity-block")
        return out

    def _create_template(self, name: str, ami_id: pulumi.Input[str] | None) -> aws.ec2.LaunchTemplate:
        args, tags = self._args, self._tags()
        user_data = pulumi.Output.from_input(args.user_data).apply(lambda text: base64.b64encode(text.encode()).decode())
        profile = aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=args.instance_profile_arn) if args.instance_profile_arn else None
        return aws.ec2.LaunchTemplate(
            f"{name}-lt",
            image_id=ami_id,
            instance_type=args.instance_type,
            user_data=user_data,
            update_default_version=True,
            iam_instance_profile=profile,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required",
                http_put_response_hop_limit=args.plan.imds_hop_limit),
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=ROOT_DEVICE,
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=args.plan.root_volume_gib, volume_type="gp3", encrypted="true",
                    delete_on_termination="true"))],
            network_interfaces=[aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                device_index=0, associate_public_ip_address="false", delete_on_termination="true",
                security_groups=list(args.security_group_ids))] if args.security_group_ids else None,
            tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags)
                                for kind in ("instance", "volume", "network-interface")],
            tags=tags,
            **self._reservation(),
            opts=pulumi.ResourceOptions(parent=self),
        )
