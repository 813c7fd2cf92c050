"""The AWS slice of the plan: per region the network, cluster or VM fleet, pools with their ladders, reservations."""
from __future__ import annotations

from dataclasses import dataclass

from components.plan.basis import PlanBasis


@dataclass(frozen=True)
class AwsPlan:
    """What ``components.aws.deploy`` renders.

    Attributes:
        primary_region: Region of the weights bucket (``aws.region``).
        regions: The primary region (the bucket lives there, pools or not), then the other regions holding AWS GPU
            pools, in first-use order.
    """

    primary_region: str
    regions: tuple[str, ...]


def plan_aws(basis: PlanBasis) -> AwsPlan:
    """Plan the ``aws`` section."""
    spec = basis.spec
    assert spec.aws is not None and spec.aws.region, "load_stack_spec fills the primary region"
    regions = dict.fromkeys([spec.aws.region, *spec.pool_regions("aws")])
    return AwsPlan(primary_region=spec.aws.region, regions=tuple(regions))
