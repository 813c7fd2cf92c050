"""The AWS slice of the plan: per region the network, cluster or VM fleet, pools with their ladders, reservations."""
from __future__ import annotations

from dataclasses import dataclass

from components.plan.basis import PlanBasis


@dataclass(frozen=True)
class AwsPlan:
    """What ``components.aws.deploy`` renders.

    Attributes:
        primary_region: Region of the weights bucket (``aws.region``).
        regions: Regions holding AWS GPU pools, primary first when it has pools, in first-use order.
    """

    primary_region: str
    regions: tuple[str, ...]


def plan_aws(basis: PlanBasis) -> AwsPlan:
    """Plan the ``aws`` section."""
    spec = basis.spec
    assert spec.aws is not None and spec.aws.region, "load_stack_spec fills the primary region"
    regions = [spec.aws.region]
    for pool in spec.aws.gpu_pools:
        region = spec.pool_region("aws", pool)
        if region not in regions:
            regions.append(region)
    return AwsPlan(primary_region=spec.aws.region, regions=tuple(regions))
