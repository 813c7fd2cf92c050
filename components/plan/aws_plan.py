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
        api_client_cidrs: Private CIDRs admitted to each EKS API endpoint on 443 (an in-network deployer's).
    """

    primary_region: str
    regions: tuple[str, ...]
    api_client_cidrs: tuple[str, ...] = ()


def plan_aws(basis: PlanBasis) -> AwsPlan:
    """Plan the ``aws`` section."""
    spec = basis.spec
    assert spec.aws is not None and spec.aws.region, "load_stack_spec fills the primary region"
    regions = dict.fromkeys([spec.aws.region, *spec.pool_regions("aws")])
    deployer = spec.deployer
    clients = tuple(str(c) for c in deployer.network_cidrs) if deployer.runner == "in-network" else ()
    return AwsPlan(primary_region=spec.aws.region, regions=tuple(regions), api_client_cidrs=clients)
