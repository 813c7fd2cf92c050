"""AwsNetwork: one region's VPC with private subnets per zone, NAT per zone and an S3 gateway endpoint."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.plan.aws_network import AwsNetworkPlan
from components.spec import ConfigError


@dataclass(frozen=True)
class AwsNetworkArgs:
    """Inputs of :class:`AwsNetwork`.

    Attributes:
        plan: The region's network plan (zones, CIDRs, or the existing VPC to adopt).
        provider: Explicit AWS provider of the region.
        tags: Cost tags (the provider's default_tags add them too; explicit ones show in the plan).
    """

    plan: AwsNetworkPlan
    provider: aws.Provider
    tags: dict[str, str] = field(default_factory=dict)


class AwsNetwork(pulumi.ComponentResource):
    """VPC (or an existing one) with private subnets across zones and weight traffic kept off NAT.

    Attributes:
        vpc_id: The VPC.
        private_subnet_ids_by_az: Every private subnet by zone (reserved rungs pick their reservation's).
        spread_zones: The zones the cluster and unreserved capacity use (the plan's first ``az_count``; an existing
            VPC's every zone).
    """

    vpc_id: pulumi.Output[str]
    private_subnet_ids_by_az: dict[str, pulumi.Output[str]]
    spread_zones: list[str]
    _vpc_cidr: pulumi.Output[str] | None = None

    @property
    def vpc_cidr(self) -> pulumi.Output[str]:
        """CIDR of the VPC; an existing VPC's is looked up only when a consumer (VM mode) needs it."""
        if self._vpc_cidr is None:
            found = aws.ec2.get_vpc_output(id=self._args.plan.existing_vpc_id, opts=self._invoke_output)
            self._vpc_cidr = found.cidr_block
        return self._vpc_cidr

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create the network (or adopt the existing VPC) of one region."""
        super().__init__("gpuinfra:aws:AwsNetwork", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self._invoke = pulumi.InvokeOptions(provider=args.provider)
        self._invoke_output = pulumi.InvokeOutputOptions(provider=args.provider)
        if args.plan.existing_vpc_id:
            self._adopt_existing()
        else:
            self._check_zones_available()
            self.spread_zones = list(args.plan.spread_zones)
            vpc = self._create_vpc(name)
            public = self._create_public(name, vpc)
            private_tables = self._create_private(name, vpc, public)
            self._create_s3_endpoint(name, vpc, private_tables)
        self.register_outputs({"vpc_id": self.vpc_id, "private_subnet_ids_by_az": self.private_subnet_ids_by_az})

    def _tags(self, name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**self._args.tags, "Name": name, **(extra or {})}

    def _check_zones_available(self) -> None:
        """The planned zones come from the zone table; an account may lack one (``state: available`` lists the
        zones it can launch in): refuse, naming the setting that wants the zone, before the VPC is registered."""
        found = aws.get_availability_zones(state="available", opts=self._invoke)
        for subnet in self._args.plan.subnets:
            if subnet.zone not in found.names:
                raise ConfigError(subnet.key, f"{subnet.zone} is not available to this account in "
                                  f"{self._args.plan.region} (available: {', '.join(sorted(found.names))})")

    def _adopt_existing(self) -> None:
        """Use the configured VPC and private subnets, keyed by their zone."""
        plan = self._args.plan
        self.vpc_id = pulumi.Output.from_input(plan.existing_vpc_id)
        by_az: dict[str, pulumi.Output[str]] = {}
        for subnet_id in plan.existing_private_subnet_ids:
            subnet = aws.ec2.get_subnet(id=subnet_id, opts=self._invoke)
            by_az.setdefault(subnet.availability_zone, pulumi.Output.from_input(subnet.id))
        if len(by_az) < 2:  # EKS needs subnets in two zones; checked here because zones need the lookup
            raise ValueError(f"aws.network.existing_private_subnet_ids: all in {', '.join(by_az)}; "
                             "give subnets in at least two availability zones")
        self.private_subnet_ids_by_az = by_az
        self.spread_zones = sorted(by_az)

    def _create_vpc(self, name: str) -> aws.ec2.Vpc:
        cidr = self._args.plan.vpc_cidr
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=cidr, enable_dns_hostnames=True, enable_dns_support=True,
                          tags=self._tags(f"{name}-vpc"), opts=self._child)
        self.vpc_id = vpc.id
        self._vpc_cidr = vpc.cidr_block
        return vpc

    def _cluster_tag(self) -> dict[str, str]:
        cluster = self._args.plan.cluster_name
        return {f"kubernetes.io/cluster/{cluster}": "shared"} if cluster else {}

    def _create_public(self, name: str, vpc: aws.ec2.Vpc) -> dict[str, aws.ec2.NatGateway]:
        """Public subnets holding one NAT gateway per zone (a zone outage never cuts the others' egress)."""
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=self._tags(f"{name}-igw"), opts=self._child)
        table = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id, tags=self._tags(f"{name}-public"),
                                   routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
                                   opts=self._child)
        nats = {}
        for planned in self._args.plan.subnets:
            az = planned.zone
            subnet = aws.ec2.Subnet(
                f"{name}-public-{az}", vpc_id=vpc.id, availability_zone=az, cidr_block=planned.public_cidr,
                map_public_ip_on_launch=False,  # only the NAT gateways' Elastic IPs are public
                tags=self._tags(f"{name}-public-{az}", {"kubernetes.io/role/elb": "1", **self._cluster_tag()}),
                opts=self._child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{az}", subnet_id=subnet.id, route_table_id=table.id,
                                          opts=self._child)
            eip = aws.ec2.Eip(f"{name}-nat-{az}", domain="vpc", tags=self._tags(f"{name}-nat-{az}"), opts=self._child)
            nats[az] = aws.ec2.NatGateway(f"{name}-nat-{az}", allocation_id=eip.id, subnet_id=subnet.id,
                                          tags=self._tags(f"{name}-nat-{az}"),
                                          opts=pulumi.ResourceOptions.merge(self._child,
                                                                            pulumi.ResourceOptions(depends_on=[igw])))
        return nats

    def _create_private(self, name: str, vpc: aws.ec2.Vpc,
                        nats: dict[str, aws.ec2.NatGateway]) -> list[aws.ec2.RouteTable]:
        """Private subnets (nodes live here) routing egress through their own zone's NAT gateway."""
        tables, by_az = [], {}
        for planned in self._args.plan.subnets:
            az = planned.zone
            subnet = aws.ec2.Subnet(
                f"{name}-private-{az}", vpc_id=vpc.id, availability_zone=az, cidr_block=planned.private_cidr,
                tags=self._tags(f"{name}-private-{az}", {"kubernetes.io/role/internal-elb": "1", **self._cluster_tag()}),
                opts=self._child)
            table = aws.ec2.RouteTable(
                f"{name}-private-{az}", vpc_id=vpc.id, tags=self._tags(f"{name}-private-{az}"),
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nats[az].id)],
                opts=self._child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{az}", subnet_id=subnet.id, route_table_id=table.id,
                                          opts=self._child)
            tables.append(table)
            by_az[az] = subnet.id
        self.private_subnet_ids_by_az = by_az
        return tables

    def _create_s3_endpoint(self, name: str, vpc: aws.ec2.Vpc, tables: list[aws.ec2.RouteTable]) -> None:
        """S3 gateway endpoint on every private route table: weight downloads bypass NAT (no per-GB fee)."""
        aws.ec2.VpcEndpoint(f"{name}-s3", vpc_id=vpc.id, service_name=f"com.amazonaws.{self._args.plan.region}.s3",
                            vpc_endpoint_type="Gateway", route_table_ids=[t.id for t in tables],
                            tags=self._tags(f"{name}-s3"), opts=self._child)
