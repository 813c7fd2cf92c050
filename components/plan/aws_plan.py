"""The AWS slice of the plan: per region the network, cluster or VM fleet, pools with their ladders, reservations."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from components.catalog.versions import ami_parameter, eks_ami_release, eks_kubernetes_version
from components.plan.aws_network import AwsNetworkPlan, plan_networks
from components.plan.aws_pools import AwsPoolPlan, VmFleetPlan, plan_aws_pools, plan_vm_fleets
from components.plan.aws_region import (EksClusterPlan, WeightsBucketPlan, WeightsReaderPlan, plan_eks_clusters,
                                        plan_weights_bucket, plan_weights_readers)
from components.plan.aws_reservations import CapacityBlockPlan, OdcrPlan, plan_reservations
from components.plan.basis import PlanBasis
from components.plan.lb_controller import LoadBalancerControllerPlan, plan_lb_controllers
from components.plan.vm_scaling import VmScalingPlan, plan_vm_scaling
from components.plan.watchdog import WatchdogPlan, plan_watchdogs
from components.plan.weights_replication import WeightsReplica, plan_weights_replicas

#: EKS access policies (EKS user guide "Review access policy permissions", awsdocs/amazon-eks-user-guide
#: latest/ug/manage-access/k8s-access/access-policy-reference.adoc). AmazonEKSViewPolicy would not do for the
#: preview/drift role: it reads only core groups (apps, batch, networking.k8s.io, ...), not Secrets (where Helm
#: keeps release state) nor the CRD objects this program manages (ServiceMonitor, HTTPRoute, ScaledObject...);
#: AmazonEKSAdminViewPolicy is get/list/watch on every group and resource. Previews need no write access: the
#: Kubernetes provider answers a forbidden server-side dry-run in preview with the planned inputs instead of failing
#: (pulumi/pulumi-kubernetes#2419; provider/pkg/provider/provider.go Create/Update `req.GetPreview() &&
#: apierrors.IsForbidden` at v4.32.0, the newest tag mirrored here; 4.34.2 is pinned).
ADMIN_ACCESS_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VIEWER_ACCESS_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy"


@dataclass(frozen=True)
class ClusterAccess:
    """One EKS access entry with one cluster-scoped access policy.

    Attributes:
        key: Resource-name suffix (``admin-<role path and name>`` / ``viewer-...``), stable per principal.
        principal_arn: The IAM principal.
        policy_arn: The EKS access policy associated with it.
    """

    key: str
    principal_arn: str
    policy_arn: str


def plan_cluster_access(admin_arns: list[str], viewer_arns: list[str]) -> tuple[ClusterAccess, ...]:
    """Access entries of every EKS cluster: cluster-admin principals, then read-only ones."""
    def key(role: str, arn: str) -> str:
        return f"{role}-" + arn.split(":", 5)[-1].replace("/", "-")
    return (*(ClusterAccess(key("admin", a), a, ADMIN_ACCESS_POLICY) for a in admin_arns),
            *(ClusterAccess(key("viewer", a), a, VIEWER_ACCESS_POLICY) for a in viewer_arns))


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
        cluster_access: Access entries every EKS cluster of the stack gets (none in VM mode).
        watchdogs: Region -> idle-GPU watchdog (none in prod or when ``aws.idle_watchdog.enabled`` is false).
        vm_scaling: VM mode: pool -> its fleet group's target-tracking policy (pools that can grow).
        lb_controllers: EKS region -> its AWS Load Balancer Controller (only where exposed Services need it).
        odcrs / capacity_blocks: Every On-Demand Capacity Reservation and Capacity Block, each with its region and
            configured zone.
        networks: The VPC of every region with GPU pools (subnet zones include every reservation's).
        weights_replicas: A weights bucket per serving region other than the primary, filled by S3 replication,
            so every region reads weights through its own S3 gateway endpoint (issue 17 item 13).
        pools: Every AWS GPU pool, in configuration order (``components/plan/aws_pools.py``).
        vm_fleets: VM mode: region -> its serving fleet (none on EKS).
        mode: ``eks`` or ``vm`` (``aws.mode``).
        weights_bucket: The weights bucket's settings (its replicas share them).
        eks_clusters: EKS mode: region -> its cluster (regions holding GPU pools).
        weights_readers: EKS mode: region -> the models whose pods there read the weights bucket.
    """

    primary_region: str
    regions: tuple[str, ...]
    api_client_cidrs: tuple[str, ...] = ()
    eks_ami: EksAmiPlan | None = None
    cluster_access: tuple[ClusterAccess, ...] = ()
    watchdogs: Mapping[str, WatchdogPlan] = field(default_factory=dict)
    vm_scaling: Mapping[str, VmScalingPlan] = field(default_factory=dict)
    lb_controllers: Mapping[str, LoadBalancerControllerPlan] = field(default_factory=dict)
    odcrs: tuple[OdcrPlan, ...] = ()
    capacity_blocks: tuple[CapacityBlockPlan, ...] = ()
    networks: tuple[AwsNetworkPlan, ...] = ()

    def network(self, region: str) -> AwsNetworkPlan:
        """The VPC plan of ``region`` (a region with GPU pools)."""
        return next(n for n in self.networks if n.region == region)

    def reservations_in(self, region: str) -> tuple[tuple[OdcrPlan, ...], tuple[CapacityBlockPlan, ...]]:
        """The ODCRs and Capacity Blocks of ``region``."""
        return (tuple(r for r in self.odcrs if r.region == region),
                tuple(b for b in self.capacity_blocks if b.region == region))
    weights_replicas: tuple[WeightsReplica, ...] = ()
    pools: Mapping[str, AwsPoolPlan] = field(default_factory=dict)
    vm_fleets: Mapping[str, VmFleetPlan] = field(default_factory=dict)
    mode: Literal["eks", "vm"] = "eks"
    weights_bucket: WeightsBucketPlan | None = None
    eks_clusters: Mapping[str, EksClusterPlan] = field(default_factory=dict)
    weights_readers: Mapping[str, tuple[WeightsReaderPlan, ...]] = field(default_factory=dict)

    def pools_in(self, region: str) -> tuple[AwsPoolPlan, ...]:
        """The GPU pools of ``region``, in configuration order."""
        return tuple(p for p in self.pools.values() if p.region == region)

    def weights_replica(self, region: str) -> WeightsReplica | None:
        """The replica a serving region reads, ``None`` for the primary region (it reads the primary bucket)."""
        return next((r for r in self.weights_replicas if r.region == region), None)


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
    eks = spec.aws.eks
    access = plan_cluster_access(eks.admin_principal_arns, eks.viewer_principal_arns) if spec.aws.mode == "eks" else ()
    odcrs, blocks = plan_reservations(spec)
    pools = plan_aws_pools(basis)
    return AwsPlan(primary_region=spec.aws.region, regions=tuple(regions), api_client_cidrs=clients, eks_ami=ami,
                   cluster_access=access, watchdogs=plan_watchdogs(spec, tuple(regions)),
                   vm_scaling=plan_vm_scaling(basis), lb_controllers=plan_lb_controllers(spec),
                   odcrs=odcrs, capacity_blocks=blocks, networks=plan_networks(spec),
                   weights_replicas=plan_weights_replicas(spec), pools=pools,
                   vm_fleets=plan_vm_fleets(basis, pools), mode=spec.aws.mode,
                   weights_bucket=plan_weights_bucket(spec), eks_clusters=plan_eks_clusters(spec, tuple(regions)),
                   weights_readers=plan_weights_readers(spec))
