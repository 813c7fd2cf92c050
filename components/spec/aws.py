"""The ``aws`` section: regions, network, EKS or VM mode, GPU pools, reservations, capacity blocks."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, IPvAnyNetwork, model_validator

from components.spec import values as v
from components.spec.base import Date, Name, NodeCount, Spec
from components.spec.capacity import GpuPoolSpec
from components.spec.storage import WeightsBucketSpec

AwsRegion = Annotated[str, AfterValidator(v.aws_region)]
InstanceType = Annotated[str, AfterValidator(v.machine_type)]
ClientCidr = Annotated[IPvAnyNetwork, AfterValidator(v.ipv4_cidr)]
#: CloudWatch Logs retention values (PutRetentionPolicy, retentionInDays: "Possible values are: 1, 3, 5, 7, 14,
#: 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, and 3653"), and 0 = never
#: expire (pulumi-aws cloudwatch.LogGroup retentionInDays, docs/resources/cloudwatch_log_group.md).
LOG_RETENTION_DAYS = (0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


class AwsNetworkSpec(Spec):
    """VPC per region: private subnets across zones, NAT for egress, an S3 gateway endpoint."""

    vpc_cidr: Annotated[IPvAnyNetwork, AfterValidator(v.private_cidr(16, 22))] = IPvAnyNetwork("10.0.0.0/16")  # type: ignore[operator]
    """CIDR of each region's VPC (regions are not peered, so they may share it): private IPv4, /16 to /22
    (AWS allows /16 to /28; eight blocks per zone are carved from it and a public /26 per zone needs a /22)."""
    az_count: int = Field(default=3, ge=2, le=6)
    """Availability zones the private subnets span."""
    existing_vpc_id: Annotated[str, AfterValidator(v.aws_id("vpc"))] | None = None
    """Use this VPC instead of creating one (single-region stacks only); needs existing_private_subnet_ids."""
    existing_private_subnet_ids: list[Annotated[str, AfterValidator(v.aws_id("subnet"))]] = Field(
        default_factory=list, max_length=16)
    """Private subnets of the existing VPC, at least two zones."""

    @model_validator(mode="after")
    def _existing(self) -> "AwsNetworkSpec":
        if len(set(self.existing_private_subnet_ids)) != len(self.existing_private_subnet_ids):
            raise ValueError("existing_private_subnet_ids lists a subnet twice")
        if self.existing_vpc_id and len(self.existing_private_subnet_ids) < 2:
            raise ValueError("existing_vpc_id needs at least two existing_private_subnet_ids")
        if self.existing_private_subnet_ids and not self.existing_vpc_id:
            raise ValueError("existing_private_subnet_ids needs existing_vpc_id")
        return self


class EksSpec(Spec):
    """EKS cluster settings (one cluster per region that has GPU pools)."""

    kubernetes_version: Annotated[str, AfterValidator(v.kubernetes_minor)] | None = None
    """Kubernetes minor version, e.g. "1.33"; default: the pinned version in the versions file."""
    system_instance_type: InstanceType = "m7i.large"
    """Instance type of the small system node group (CPU add-ons, autoscaler, monitoring)."""
    system_nodes: int = Field(default=2, ge=1, le=10)
    """Nodes in the system node group (min = desired; max is twice this)."""
    endpoint_public_access: bool = False
    """Expose the API server publicly (then only to public_access_cidrs)."""
    public_access_cidrs: list[ClientCidr] = Field(default_factory=list, max_length=40)
    """CIDRs allowed to reach a public API endpoint."""
    admin_principal_arns: list[Annotated[str, AfterValidator(v.iam_arn)]] = Field(default_factory=list, max_length=20)
    """IAM roles/users given cluster-admin through access entries (API auth mode)."""
    viewer_principal_arns: list[Annotated[str, AfterValidator(v.iam_role_arn)]] = Field(
        default_factory=list, max_length=20)
    """IAM roles given read-only access to every Kubernetes object (AmazonEKSAdminViewPolicy, Secrets included):
    the role the preview and drift workflows assume (``AWS_PREVIEW_ROLE_ARN``)."""

    @model_validator(mode="after")
    def _public(self) -> "EksSpec":
        if self.endpoint_public_access and not self.public_access_cidrs:
            raise ValueError("endpoint_public_access needs public_access_cidrs (never 0.0.0.0/0 implicitly)")
        return self

    @model_validator(mode="after")
    def _one_entry_per_principal(self) -> "EksSpec":
        # EKS user guide "Grant IAM users access to Kubernetes with EKS access entries": "An IAM principal can't be
        # included in more than one access entry" (CreateAccessEntry fails with ResourceInUseException).
        seen: set[str] = set()
        for key, arns in (("admin_principal_arns", self.admin_principal_arns),
                          ("viewer_principal_arns", self.viewer_principal_arns)):
            for arn in arns:
                if arn in seen:
                    raise ValueError(f"{key}: {arn} is listed twice (admin or viewer); EKS allows one access "
                                     "entry per IAM principal, so give each principal one list, once")
                seen.add(arn)
        return self


class AwsVmSpec(Spec):
    """VM-mode serving fleet behind an internal load balancer (no Kubernetes)."""

    load_balancer: Literal["nlb", "alb"] = "nlb"
    """Internal load balancer type in front of the fleet: ``nlb`` (TCP) or ``alb`` (HTTP)."""
    monitoring_cidrs: list[ClientCidr] = Field(default_factory=list, max_length=40)
    """Extra CIDRs allowed to scrape metrics ports, beside the monitoring security group."""


class AwsReservationSpec(Spec):
    """An On-Demand Capacity Reservation (billed at the on-demand rate whether used or not)."""

    name: Name
    """Stable key pools reference in ``capacity.reservation``."""
    region: AwsRegion | None = None
    """Region; default: the primary region."""
    availability_zone: str
    """Zone of the reservation (a zone of its region): instances consuming it launch in this zone's subnet."""
    instance_type: InstanceType
    """Instance type reserved (must be the consuming pool's first type)."""
    count: Annotated[int, Field(ge=1, le=450)]
    """Instances reserved (1-450)."""
    match: Literal["targeted", "open"] = "targeted"
    """``targeted``: only instances naming it use it; ``open``: any matching instance does."""
    end_date: Date | None = None
    """Date the reservation ends (at 00:00 UTC, after today); none = unlimited (policy refuses that outside prod)."""

    @model_validator(mode="after")
    def _future(self) -> "AwsReservationSpec":
        if self.end_date is not None and self.end_date <= _today():
            raise ValueError(f"end_date {self.end_date} is not in the future (today is {_today()} UTC)")
        return self


class AwsCapacityBlockSpec(Spec):
    """A Capacity Block for ML: a prepaid, non-cancellable reservation (irreversible purchase)."""

    name: Name
    """Stable key pools reference in ``capacity.reservation``."""
    region: AwsRegion | None = None
    """Region; default: the primary region."""
    instance_type: InstanceType
    """Instance type of the block (p4d/p5/p5en/p6 families)."""
    count: int = Field(ge=1, le=64)
    """Instances in the block (1-64)."""
    duration_hours: int = Field(ge=24, le=4368)
    """1-14 days in 1-day steps, then 7-day steps up to 182 days (hours: 24..336 by 24, then by 168)."""
    start_after: Date
    """Earliest start date of the offering searched for (a past date searches from today)."""
    end_before: Date | None = None
    """Latest end date of the offering searched for (in the future, at least duration_hours after start_after);
    none = any."""
    offering_id: Annotated[str, Field(pattern=r"^cb-[0-9a-z]{1,32}$")] | None = None
    """A Capacity Block offering id found earlier (``cb-`` and lowercase letters/digits: the EC2 API reference
    types CapacityBlockOfferingId as a plain string and documents no format, and its CLI examples are not pure
    hex, so only the prefix and a safe alphabet are enforced). ``scripts/capacity.py --capacity-blocks`` prints
    it; the stack buys exactly this offering (with allow_capacity_block_purchase) and never searches itself;
    none = not chosen yet (nothing is bought). Changing it after the purchase is refused (the block is protected)."""
    availability_zone: str | None = None
    """Zone of the chosen offering, as the search printed it (a zone of the block's region): the reserved nodes'
    subnet, created if the VPC's first az_count zones lack it; required with offering_id; none = not chosen yet."""

    @model_validator(mode="after")
    def _duration(self) -> "AwsCapacityBlockSpec":
        if self.offering_id is not None and self.availability_zone is None:
            raise ValueError(f"offering_id {self.offering_id} needs availability_zone: the offering's zone, as "
                             "scripts/capacity.py --capacity-blocks prints it")
        if self.end_before is not None and self.end_before <= _today():
            raise ValueError(f"end_before {self.end_before} is in the past (today is {_today()} UTC)")
        if self.end_before is not None and self.end_before < self.start_after + dt.timedelta(hours=self.duration_hours):
            raise ValueError(f"end_before {self.end_before} leaves no room for {self.duration_hours} h after "
                             f"start_after {self.start_after}")
        days, rem = divmod(self.duration_hours, 24)
        ok = rem == 0 and (1 <= days <= 14 or (days <= 182 and days % 7 == 0))
        if not ok:
            raise ValueError(
                f"duration_hours {self.duration_hours} is not a Capacity Block length "
                "(24..336 in steps of 24, then multiples of 168 up to 4368)"
            )
        return self


class IdleWatchdogSpec(Spec):
    """Scheduled Lambda stopping GPU instances tagged AutoShutdown=true that stay idle."""

    enabled: bool = True
    """Deploy the watchdog (only outside prod)."""
    idle_threshold_pct: float = Field(default=10.0, gt=0, lt=100)
    """GPU utilisation (%) under which an instance counts as idle."""
    idle_minutes: int = Field(default=60, ge=1, le=1440)
    """Minutes of continuous idleness before the instance is stopped (1-1440)."""
    grace_minutes: int = Field(default=30, ge=1, le=1440)
    """Minutes after launch during which missing metrics do not count as idle (1-1440)."""
    schedule_minutes: int = Field(default=10, ge=1, le=60)
    """Minutes between two runs of the watchdog."""
    dry_run: bool = False
    """Log decisions without stopping anything."""


class AwsSpec(Spec):
    """Everything gpuinfra creates on AWS."""

    region: AwsRegion | None = None
    """Primary region; default: the provider's ``aws:region``."""
    mode: Literal["eks", "vm"] = "eks"
    """Serving mode: ``eks`` (Kubernetes, GPU managed node groups) or ``vm`` (Auto Scaling groups + internal load balancer)."""
    network: AwsNetworkSpec = AwsNetworkSpec()
    """VPC settings."""
    eks: EksSpec = EksSpec()
    """EKS settings (mode eks)."""
    vm: AwsVmSpec = AwsVmSpec()
    """VM fleet settings (mode vm)."""
    gpu_pools: list[GpuPoolSpec] = Field(min_length=1, max_length=32)
    """GPU pools on AWS (at least one)."""
    reservations: list[AwsReservationSpec] = Field(default_factory=list, max_length=32)
    """On-Demand Capacity Reservations."""
    capacity_blocks: list[AwsCapacityBlockSpec] = Field(default_factory=list, max_length=32)
    """Capacity Blocks for ML: searched by scripts/capacity.py, bought from the chosen offering only with
    allow_capacity_block_purchase."""
    allow_capacity_block_purchase: bool = False
    """Explicit opt-in: buy every capacity block's chosen offering (each needs offering_id and availability_zone);
    without it nothing is looked up or bought and the plan prints the search command."""
    imds_hop_limit: int = Field(default=1, ge=1, le=3)
    """IMDSv2 response hop limit (1 keeps containers off the metadata service)."""
    weights_bucket: WeightsBucketSpec = WeightsBucketSpec()
    """The S3 model-weights bucket."""
    idle_watchdog: IdleWatchdogSpec = IdleWatchdogSpec()
    """The idle-GPU watchdog (non-prod)."""
    log_retention_days: int = Field(default=30, ge=0, le=3653)
    """Retention of control-plane and Lambda log groups in days: a CloudWatch Logs value (1, 3, 5, 7, 14, 30, 60, 90,
    120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653) or 0 (never expire)."""
