"""Offline answers to AWS data-source invokes, realistic for the provider's region."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from components.preview.mock_context import MockContext, digest

Result = dict[str, Any]

# Zone letters per region as most accounts see them (AWS docs "Regions and Zones", checked 2025-01).
# Zone ids use the region's short code; the letter-to-id mapping is per account, so ids here are plausible only.
AZ_LETTERS = {
    "us-east-1": "abcdef", "us-east-2": "abc", "us-west-1": "ac", "us-west-2": "abcd",
    "eu-west-1": "abc", "eu-central-1": "abc", "eu-north-1": "abc", "ap-northeast-1": "acd",
    "ap-southeast-1": "abc", "ap-south-1": "abc",
}
ZONE_ID_CODES = {
    "us-east-1": "use1", "us-east-2": "use2", "us-west-1": "usw1", "us-west-2": "usw2", "eu-west-1": "euw1",
    "eu-central-1": "euc1", "eu-north-1": "eun1", "ap-northeast-1": "apne1", "ap-southeast-1": "apse1",
    "ap-south-1": "aps1",
}
class InvokeArgumentError(ValueError):
    """An invoke was called with arguments the offline answer cannot honour."""


def availability_zones(ctx: MockContext) -> Result:
    """Answer ``getAvailabilityZones`` for the provider's region, honouring the exclude filters."""
    region = ctx.aws_region
    code = ZONE_ID_CODES.get(region, "".join(p[0] for p in region.split("-")) + region[-1])
    zones = [(f"{region}{letter}", f"{code}-az{i + 1}") for i, letter in enumerate(AZ_LETTERS.get(region, "abc"))]
    excluded = set(ctx.inputs.get("excludeNames") or []) | set(ctx.inputs.get("excludeZoneIds") or [])
    zones = [z for z in zones if z[0] not in excluded and z[1] not in excluded]
    return {
        "id": region,
        "region": region,
        "names": [z[0] for z in zones],
        "zoneIds": [z[1] for z in zones],
        "groupNames": [region] * len(zones),
        "state": ctx.inputs.get("state"),
        "excludeNames": ctx.inputs.get("excludeNames"),
        "excludeZoneIds": ctx.inputs.get("excludeZoneIds"),
        "allAvailabilityZones": ctx.inputs.get("allAvailabilityZones"),
        "filters": ctx.inputs.get("filters"),
    }


def caller_identity(ctx: MockContext) -> Result:
    """Answer ``getCallerIdentity`` as an assumed role in the mock account."""
    return {
        "id": ctx.account,
        "accountId": ctx.account,
        "arn": f"arn:aws:sts::{ctx.account}:assumed-role/gpuinfra-preview/offline",
        "userId": "AROA" + digest("caller")[:17].upper() + ":offline",
    }


def ssm_parameter(ctx: MockContext) -> Result:
    """Answer ``ssm.getParameter`` for AWS public parameters (``/aws/service/...``) only.

    Raises:
        InvokeArgumentError: The parameter is not an AWS public parameter, so no offline value exists.
    """
    name = str(ctx.inputs.get("name") or "")
    if not name.startswith("/aws/service/"):
        raise InvokeArgumentError(
            f"aws:ssm/getParameter:getParameter: no offline value for parameter {name!r}; "
            "only AWS public parameters under /aws/service/ are answered"
        )
    if name.endswith("/release_version"):  # e.g. /aws/service/eks/optimized-ami/1.35/.../release_version
        minor = re.search(r"/optimized-ami/(\d+\.\d+)/", name)
        value = f"{minor.group(1) if minor else '1.35'}.3-20261104"
    else:
        value = "ami-0" + digest(name, ctx.aws_region)[:16]
    return {
        "id": name,
        "name": name,
        "arn": f"arn:aws:ssm:{ctx.aws_region}::parameter{name}",
        "type": "String",
        "value": value,
        "insecureValue": value,
        "version": 1,
        "withDecryption": ctx.inputs.get("withDecryption", True),
        "region": ctx.aws_region,
    }


def subnet_lookup(ctx: MockContext) -> Result:
    """Answer ``ec2.getSubnet`` for an existing subnet id, its zone derived from the id (stable)."""
    ident = str(ctx.inputs.get("id"))
    letters = AZ_LETTERS.get(ctx.aws_region, "abc")
    zone = f"{ctx.aws_region}{letters[int(digest(ident)[:8], 16) % len(letters)]}"
    return {"id": ident, "availabilityZone": zone, "vpcId": ctx.inputs.get("vpcId") or "vpc-existing",
            "arn": f"arn:aws:ec2:{ctx.aws_region}:{ctx.account}:subnet/{ident}", "state": "available",
            "region": ctx.aws_region}


# Invoke token -> answer. Add an invoke with one line here.
AWS_INVOKES: dict[str, Callable[[MockContext], Result]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": availability_zones,
    "aws:index/getCallerIdentity:getCallerIdentity": caller_identity,
    "aws:ssm/getParameter:getParameter": ssm_parameter,
    "aws:ec2/getSubnet:getSubnet": subnet_lookup,
}
