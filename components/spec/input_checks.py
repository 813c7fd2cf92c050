"""Cross-field input checks that need no catalog: names, zones, networks, buckets, keys (exact key paths)."""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence

from components.spec import values as v
from components.spec.aws import LOG_RETENTION_DAYS, AwsSpec
from components.spec.errors import ConfigError, key_path
from components.spec.gcp import GcpSpec
from components.spec.stack import StackSpec
from components.catalog.vocab import Cloud


def _value(check: Callable[[str], str], value: str, loc: tuple) -> None:
    try:
        check(value)
    except ValueError as exc:
        raise ConfigError(key_path(loc), str(exc)) from None


def _unique(names: Sequence[tuple[tuple, str]], what: str) -> None:
    """``[(loc, name)]``: the second use of a name is an error (a name map would silently keep one)."""
    seen: dict[str, tuple] = {}
    for loc, name in names:
        if name in seen:
            raise ConfigError(key_path(loc), f"{what} name {name!r} is used twice (also at {key_path(seen[name])})")
        seen[name] = loc


def _zones(cloud: Cloud, pool_loc: tuple, zones: list[str], region: str | None) -> None:
    if region is None:
        return
    for i, zone in enumerate(zones):
        if not v.zone_of_region(zone, region, cloud):
            raise ConfigError(key_path((*pool_loc, "zones", i)), f"{zone!r} is not a zone of the pool's region {region}")


def _check_aws(spec: StackSpec, aws: AwsSpec) -> None:
    primary = aws.region
    if primary is not None:
        _value(v.aws_region, primary, ("aws", "region"))
    if aws.log_retention_days not in LOG_RETENTION_DAYS:
        raise ConfigError(key_path(("aws", "log_retention_days")),
                          f"{aws.log_retention_days} is not a CloudWatch Logs retention "
                          f"(allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}; 0 = never expire)")
    _unique([(("aws", "reservations", i, "name"), r.name) for i, r in enumerate(aws.reservations)]
            + [(("aws", "capacity_blocks", i, "name"), b.name) for i, b in enumerate(aws.capacity_blocks)],
            "reservation or capacity block")
    zone_of: dict[str, str] = {}
    for i, res in enumerate(aws.reservations):
        region = res.region or primary
        if region and not v.zone_of_region(res.availability_zone, region, "aws"):
            raise ConfigError(key_path(("aws", "reservations", i, "availability_zone")),
                              f"{res.availability_zone!r} is not a zone of the reservation's region {region}")
        zone_of[res.name] = res.availability_zone
    for i, block in enumerate(aws.capacity_blocks):
        region = block.region or primary
        if block.availability_zone is not None and region and not v.zone_of_region(block.availability_zone, region, "aws"):
            raise ConfigError(key_path(("aws", "capacity_blocks", i, "availability_zone")),
                              f"{block.availability_zone!r} is not a zone of the block's region {region}")
    regions = set()
    for i, pool in enumerate(aws.gpu_pools):
        loc = ("aws", "gpu_pools", i)
        if pool.region is not None:
            _value(v.aws_region, pool.region, (*loc, "region"))
        region = pool.region or primary
        regions.add(region)
        _zones("aws", loc, pool.zones, region)
        zone = zone_of.get(pool.capacity.reservation or "")
        if zone and pool.zones and zone not in pool.zones:
            raise ConfigError(key_path((*loc, "zones")), f"excludes {zone}, the zone of reservation "
                              f"{pool.capacity.reservation!r} its reserved nodes launch in; add it")
    network = aws.network
    if network.existing_vpc_id and len(regions) > 1:
        raise ConfigError(key_path(("aws", "network", "existing_vpc_id")),
                          f"is for single-region stacks; the pools span {', '.join(sorted(map(str, regions)))}")
    bucket = aws.weights_bucket
    if bucket.name is not None:
        _value(v.s3_bucket, bucket.name, ("aws", "weights_bucket", "name"))
    if bucket.kms_key is not None:
        _value(v.aws_kms_key, bucket.kms_key, ("aws", "weights_bucket", "kms_key"))


def _check_gcp_network(gcp: GcpSpec) -> None:
    net = gcp.network
    # Sizes: GKE VPC-native clusters (cloud.google.com/kubernetes-engine/docs/concepts/alias-ips: Pod range /9 to
    # /21, Service range /16 to /27; private cluster control plane: exactly a /28, RFC 1918); subnets /8 to /29
    # (cloud.google.com/vpc/docs/subnets#valid-ranges).
    ranges = (("subnet_cidr", 8, 29), ("pods_cidr", 9, 21), ("services_cidr", 16, 27), ("master_cidr", 28, 28))
    for key, low, high in ranges:
        try:
            v.private_range(getattr(net, key), low, high, key)
        except ValueError as exc:
            raise ConfigError(key_path(("gcp", "network", key)), str(exc)) from None
    for (a, *_), (b, *_) in itertools.combinations(ranges, 2):
        if getattr(net, a).overlaps(getattr(net, b)):
            raise ConfigError(key_path(("gcp", "network", b)), f"{getattr(net, b)} overlaps {a} {getattr(net, a)}; "
                              "GKE needs the four ranges apart")


def _check_gcp(spec: StackSpec, gcp: GcpSpec) -> None:
    primary = gcp.region
    if primary is not None:
        _value(v.gcp_region, primary, ("gcp", "region"))
    _check_gcp_network(gcp)
    _unique([(("gcp", "reservations", i, "name"), r.name) for i, r in enumerate(gcp.reservations)], "reservation")
    for i, pool in enumerate(gcp.gpu_pools):
        loc = ("gcp", "gpu_pools", i)
        if len(pool.instance_types) != 1:
            raise ConfigError(key_path((*loc, "instance_types")), f"lists {len(pool.instance_types)} machine types; "
                              "a GCP pool takes exactly one (node pools and MIG templates have one machine type)")
        if pool.region is not None:
            _value(v.gcp_region, pool.region, (*loc, "region"))
        region = pool.region or primary
        _zones("gcp", loc, pool.zones, region)
    for i, res in enumerate(gcp.reservations):
        if not re.fullmatch(r"[a-z]+-[a-z]+\d{1,2}-[a-z]", res.zone):
            raise ConfigError(key_path(("gcp", "reservations", i, "zone")), f"{res.zone!r} is not a GCP zone name "
                              "(e.g. 'us-central1-a')")
    bucket = gcp.weights_bucket
    if bucket.name is not None:
        _value(v.gcs_bucket, bucket.name, ("gcp", "weights_bucket", "name"))
    if bucket.kms_key is not None:
        _value(v.gcp_kms_key, bucket.kms_key, ("gcp", "weights_bucket", "kms_key"))


def check_input(spec: StackSpec) -> None:
    """Raise ``ConfigError`` (key path, value, what is allowed) for the first malformed combination of values.

    Runs after the schema and before the catalog checks; needs nothing but the spec.
    """
    if spec.aws is not None:
        _check_aws(spec, spec.aws)
    if spec.gcp is not None:
        _check_gcp(spec, spec.gcp)
    cert = spec.serving.tls_certificate
    if cert is not None:
        is_arn = cert.startswith("arn:")
        if is_arn and spec.aws is None or not is_arn and spec.gcp is None:
            raise ConfigError(key_path(("serving", "tls_certificate")),
                              f"{cert!r} is {'an ACM ARN' if is_arn else 'a GCP certificate name'} but the stack has "
                              f"no {'aws' if is_arn else 'gcp'} section")
