"""The AWS network slice: per region the VPC's subnet zones (first ``az_count`` plus every reservation's) and CIDRs."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from components.plan import names
from components.spec import StackSpec
from components.spec.errors import ConfigError, key_path

#: Zone letters per AWS region as most accounts see them (AWS docs "Regions and Zones",
#: docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html, checked 2025-01; the
#: offline preview's getAvailabilityZones mock answers the same). Every catalog region must be listed (a test checks).
AWS_ZONE_LETTERS = {
    "us-east-1": "abcdef", "us-east-2": "abc", "us-west-1": "ac", "us-west-2": "abcd",
    "eu-west-1": "abc", "eu-central-1": "abc", "eu-north-1": "abc", "ap-northeast-1": "acd",
    "ap-southeast-1": "abc", "ap-south-1": "abc",
}
#: The VPC CIDR is cut into eight equal blocks: one private block per zone (by the zone's position in the region),
#: the last block split into the zones' small public subnets; so at most seven zones.
CIDR_BLOCKS = 8


def aws_zones(region: str) -> list[str] | None:
    """Zones of an AWS region, sorted; None when the region is not in the table."""
    letters = AWS_ZONE_LETTERS.get(region)
    return [f"{region}{letter}" for letter in sorted(letters)] if letters else None


@dataclass(frozen=True)
class SubnetPlan:
    """One zone's private and public subnet.

    Attributes:
        zone: The availability zone (subnets and NAT are named by it, never by position).
        private_cidr / public_cidr: Their CIDRs, fixed by the zone's position among the region's zones, so adding
            or removing another zone never moves (replaces) this one.
        spread: One of the first ``az_count`` zones: the cluster and unreserved capacity use it; a zone added only
            for a reservation or block serves just its reserved nodes (no node group gains a subnet).
        key: The setting that put the zone here (``aws.network.az_count`` or the reservation's zone key).
    """

    zone: str
    private_cidr: str
    public_cidr: str
    spread: bool
    key: str


@dataclass(frozen=True)
class AwsNetworkPlan:
    """The VPC of one region with GPU pools (or the existing one to adopt).

    Attributes:
        region: The region.
        vpc_cidr: CIDR of a created VPC.
        subnets: Planned subnets by zone (empty when adopting ``existing_vpc_id``, whose subnets are looked up).
        existing_vpc_id / existing_private_subnet_ids: The VPC and private subnets to adopt instead.
        cluster_name: EKS cluster whose discovery tag the subnets carry (None in VM mode).
    """

    region: str
    vpc_cidr: str
    subnets: tuple[SubnetPlan, ...] = ()
    existing_vpc_id: str | None = None
    existing_private_subnet_ids: tuple[str, ...] = ()
    cluster_name: str | None = None

    @property
    def zones(self) -> tuple[str, ...]:
        """Every planned subnet zone."""
        return tuple(s.zone for s in self.subnets)

    @property
    def spread_zones(self) -> tuple[str, ...]:
        """The first ``az_count`` zones (the cluster's and unreserved capacity's)."""
        return tuple(s.zone for s in self.subnets if s.spread)


def reserved_zones(spec: StackSpec, region: str) -> list[tuple[str, str]]:
    """(zone, key path) of every ODCR and configured Capacity Block of ``region``, in configuration order."""
    aws = spec.aws
    assert aws is not None
    out = [(r.availability_zone, key_path(("aws", "reservations", i, "availability_zone")))
           for i, r in enumerate(aws.reservations) if (r.region or aws.region) == region]
    out += [(b.availability_zone, key_path(("aws", "capacity_blocks", i, "availability_zone")))
            for i, b in enumerate(aws.capacity_blocks) if b.availability_zone and (b.region or aws.region) == region]
    return out


def _region_zones(spec: StackSpec, region: str) -> list[str]:
    zones = aws_zones(region)
    if zones is None:
        pool = next(i for i, p in enumerate(spec.aws.gpu_pools) if spec.pool_region("aws", p) == region)
        raise ConfigError(key_path(("aws", "gpu_pools", pool, "region")),
                          f"{region}: its zones are not in components/plan/aws_network.py AWS_ZONE_LETTERS (known: "
                          f"{', '.join(sorted(AWS_ZONE_LETTERS))}); add the region's zones with their source")
    if spec.aws.network.az_count > len(zones):
        raise ConfigError(key_path(("aws", "network", "az_count")),
                          f"{spec.aws.network.az_count} exceeds the {len(zones)} zones of {region} ({', '.join(zones)})")
    return zones


def plan_network(spec: StackSpec, region: str) -> AwsNetworkPlan:
    """The VPC of ``region``: subnets in the first ``az_count`` zones and in every zone a reservation or configured
    Capacity Block of the region uses (its reserved nodes launch only there).

    Raises:
        ConfigError: the region's zones are unknown, ``az_count`` exceeds them, or a reservation's zone is not one.
    """
    aws = spec.aws
    assert aws is not None
    net = aws.network
    cluster = names.cluster_name(spec.environment, "aws", region) if aws.mode == "eks" else None
    if net.existing_vpc_id:
        return AwsNetworkPlan(region, str(net.vpc_cidr), existing_vpc_id=net.existing_vpc_id,
                              existing_private_subnet_ids=tuple(net.existing_private_subnet_ids), cluster_name=cluster)
    zones = _region_zones(spec, region)
    wanted = {z: key_path(("aws", "network", "az_count")) for z in zones[: net.az_count]}
    for zone, key in reserved_zones(spec, region):
        if zone not in zones:
            raise ConfigError(key, f"{zone!r} is not a zone of {region} (zones: {', '.join(zones)})")
        wanted.setdefault(zone, key)
    blocks = list(ipaddress.ip_network(str(net.vpc_cidr)).subnets(prefixlen_diff=3))
    public = list(blocks[-1].subnets(prefixlen_diff=3))
    assert len(zones) < CIDR_BLOCKS, "a region with more zones needs another CIDR layout"
    subnets = tuple(SubnetPlan(zone, str(blocks[zones.index(zone)]), str(public[zones.index(zone)]),
                               spread=zones.index(zone) < net.az_count, key=key)
                    for zone, key in sorted(wanted.items(), key=lambda item: zones.index(item[0])))
    return AwsNetworkPlan(region, str(net.vpc_cidr), subnets, cluster_name=cluster)


def plan_networks(spec: StackSpec) -> tuple[AwsNetworkPlan, ...]:
    """The VPC of every region holding AWS GPU pools (a bucket-only primary region gets none)."""
    return tuple(plan_network(spec, region) for region in spec.pool_regions("aws")) if spec.aws else ()
