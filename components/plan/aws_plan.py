"""The AWS slice of the plan: per region the network, cluster or VM fleet, pools with their ladders, reservations."""
from __future__ import annotations

from dataclasses import dataclass

from components.catalog.versions import ami_parameter, eks_ami_release, eks_kubernetes_version
from components.plan.basis import PlanBasis


@dataclass(frozen=True)
class EksAmiPlan:
    """The AMI release of the EKS GPU node groups.

    Attributes:
        release_version: The pinned release every GPU node group runs (versions.yaml ``eks_ami_release``).
        recommended_parameter: Public SSM parameter of AWS's current "recommended" release, read only to show it
            as an available update.
    """

    release_version: str
    recommended_parameter: str


@dataclass(frozen=True)
class AwsPlan:
    """What ``components.aws.deploy`` renders.

    Attributes:
        primary_region: Region of the weights bucket (``aws.region``).
        regions: The primary region (the bucket lives there, pools or not), then the other regions holding AWS GPU
            pools, in first-use order.
        api_client_cidrs: Private CIDRs admitted to each EKS API endpoint on 443 (an in-network deployer's).
        eks_ami: EKS mode: the GPU node groups' AMI release; ``None`` in VM mode.
    """

    primary_region: str
    regions: tuple[str, ...]
    api_client_cidrs: tuple[str, ...] = ()
    eks_ami: EksAmiPlan | None = None


def plan_eks_ami(kubernetes_version: str) -> EksAmiPlan:
    """Pin the node groups' AMI release: following the SSM "recommended" parameter would roll every GPU node group
    whenever AWS publishes an AMI; a new release is adopted by editing the versions file."""
    return EksAmiPlan(
        release_version=eks_ami_release(kubernetes_version),
        recommended_parameter=ami_parameter("eks_al2023_nvidia_release", kubernetes_version=kubernetes_version))


def plan_aws(basis: PlanBasis) -> AwsPlan:
    """Plan the ``aws`` section."""
    spec = basis.spec
    assert spec.aws is not None and spec.aws.region, "load_stack_spec fills the primary region"
    regions = dict.fromkeys([spec.aws.region, *spec.pool_regions("aws")])
    deployer = spec.deployer
    clients = tuple(str(c) for c in deployer.network_cidrs) if deployer.runner == "in-network" else ()
    ami = (plan_eks_ami(spec.aws.eks.kubernetes_version or eks_kubernetes_version())
           if spec.aws.mode == "eks" else None)
    return AwsPlan(primary_region=spec.aws.region, regions=tuple(regions), api_client_cidrs=clients, eks_ami=ami)
