"""Renders the plan's `aws` slice with components: network, bucket, EKS (or VM fleets) per region."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.cluster import EksCluster, EksClusterArgs
from components.aws.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.aws.gpu_node_pool import EksGpuNodePool, EksGpuNodePoolArgs, Reservation
from components.aws.load_balancer_controller import LoadBalancerController, LoadBalancerControllerArgs
from components.aws.network import AwsNetwork, AwsNetworkArgs
from components.aws.weights_access import EksWeightsAccess, EksWeightsAccessArgs
from components.aws.weights_bucket import S3WeightsBucket, S3WeightsBucketArgs
from components.aws.weights_replication import S3WeightsReplication, S3WeightsReplicationArgs
from components.k8s.target import ClusterTarget
from components.plan.ladder import LadderPlan
from components.plan.stack import StackPlan




def _provider(stack: StackPlan, region: str) -> aws.Provider:
    return aws.Provider(f"aws-{region}", region=region, default_tags={"tags": dict(stack.tags)})


def _reservations(stack: StackPlan, region: str, provider: aws.Provider) -> dict[str, Reservation]:
    """Reservations and capacity blocks of the region, by name (built by the capacity components)."""
    from components.aws.reservation import AwsReservations, AwsReservationsArgs  # noqa: PLC0415

    assert stack.aws is not None
    odcrs, blocks = stack.aws.reservations_in(region)
    made = AwsReservations(f"reservations-{region}", AwsReservationsArgs(region, odcrs, blocks),
                           opts=pulumi.ResourceOptions(provider=provider))
    return {name: Reservation(id=rid, availability_zone=made.availability_zones[name])
            for name, rid in made.reservation_ids.items()}


def _watchdog(stack: StackPlan, region: str, provider: aws.Provider) -> None:
    """Idle-GPU watchdog of the region, when the plan has one (never in prod)."""
    from components.aws.watchdog import IdleWatchdog, IdleWatchdogArgs  # noqa: PLC0415

    assert stack.aws is not None
    planned = stack.aws.watchdogs.get(region)
    if planned is not None:
        IdleWatchdog(f"idle-watchdog-{region}", IdleWatchdogArgs(plan=planned),
                     opts=pulumi.ResourceOptions(provider=provider))


def _eks_region(stack: StackPlan, region: str, provider: aws.Provider, network: AwsNetwork,
                bucket: S3WeightsBucket, reservations: dict[str, Reservation]) -> ClusterTarget:
    """Cluster, GPU node groups, autoscaler and weight readers of one region."""
    assert stack.aws is not None and stack.aws.eks_ami is not None
    planned = stack.aws.eks_clusters[region]
    name = planned.name
    tags = dict(stack.tags)
    cluster = EksCluster(name, EksClusterArgs(
        region=region, plan=planned,
        subnet_ids=[network.private_subnet_ids_by_az[z] for z in network.spread_zones],
        provider=provider, tags=tags,
        api_client_cidrs=stack.aws.api_client_cidrs,
        access=stack.aws.cluster_access if stack.aws else ()))
    pools = stack.aws.pools_in(region)
    ladders: list[LadderPlan] = [p.ladder for p in pools]
    node_opts = pulumi.ResourceOptions(depends_on=cluster.addons)
    groups = []
    for pool in pools:
        gpu_pool = EksGpuNodePool(f"{pool.name}-pool", EksGpuNodePoolArgs(
            pool=pool, cluster=cluster.cluster, node_role_arn=cluster.node_role_arn,
            subnet_ids_by_az=network.private_subnet_ids_by_az, spread_zones=tuple(network.spread_zones),
            provider=provider, ami=stack.aws.eks_ami,
            reservation=reservations.get(pool.reservation or "")), opts=node_opts)
        groups.extend(gpu_pool.node_groups.values())
    account = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider)).account_id
    ClusterAutoscaler(f"{name}-autoscaler", ClusterAutoscalerArgs(
        cluster_name=name, cluster=cluster.cluster, region=region, account_id=account, ladders=ladders,
        aws_provider=provider, k8s_provider=cluster.k8s_provider, depends_on=[*cluster.addons, *groups], tags=tags))
    controller = _lb_controller(stack, region, cluster, network, provider)
    pool_names = {p.name for p in pools}
    readers = [EksWeightsAccess(f"{reader.model}-{region}-weights", EksWeightsAccessArgs(
        plan=reader, cluster=cluster.cluster, bucket_arn=bucket.bucket_arn, kms_key_arn=bucket.kms_key_arn,
        provider=provider)) for reader in stack.aws.weights_readers.get(region, ())]
    pulumi.export(f"aws_{region.replace('-', '_')}_cluster", {"name": cluster.cluster_name, "endpoint": cluster.endpoint})
    return ClusterTarget(
        name=name, cloud="aws", region=region, provider=cluster.k8s_provider, cluster=cluster.cluster,
        pools=tuple(sorted(pool_names)), weights_bucket=bucket.bucket_name,
        # The serving layer's exposed Services wait for the load balancer controller (its webhook admits them).
        ready=(*groups, *cluster.addons, *[r.association for r in readers], *([controller] if controller else [])))


def _lb_controller(stack: StackPlan, region: str, cluster: EksCluster, network: AwsNetwork,
                   provider: aws.Provider) -> k8s.helm.v3.Release | None:
    """The region's AWS Load Balancer Controller when its exposed Services need one (``AwsPlan.lb_controllers``)."""
    plan = stack.aws.lb_controllers.get(region) if stack.aws else None
    if plan is None:
        return None
    return LoadBalancerController(f"{plan.cluster}-lb-controller", LoadBalancerControllerArgs(
        plan=plan, cluster=cluster.cluster, vpc_id=network.vpc_id, aws_provider=provider,
        k8s_provider=cluster.k8s_provider, depends_on=[*cluster.addons, cluster.system_node_group],
        tags=dict(stack.tags))).release


def _vm_region(stack: StackPlan, region: str, provider: aws.Provider, network: AwsNetwork,
               bucket: S3WeightsBucket, reservations: dict[str, Reservation]) -> None:
    """VM-mode serving fleets of one region (the capacity components)."""
    from components.aws.vm_fleet import VmServingFleet, VmServingFleetArgs  # noqa: PLC0415 (capacity work)

    assert stack.aws is not None
    VmServingFleet(f"serving-{region}", VmServingFleetArgs(
        plan=stack.aws.vm_fleets[region], region=region, vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
        private_subnet_ids_by_az=network.private_subnet_ids_by_az, spread_zones=tuple(network.spread_zones),
        bucket_name=bucket.bucket_name, bucket_arn=bucket.bucket_arn, kms_key_arn=bucket.kms_key_arn,
        reservations=reservations, scaling=stack.aws.vm_scaling if stack.aws else {}),
        opts=pulumi.ResourceOptions(provider=provider))


def deploy_aws(stack: StackPlan) -> list[ClusterTarget]:
    """Create the aws resources of the stack; returns the Kubernetes clusters for the serving layer."""
    assert stack.aws is not None
    tags = dict(stack.tags)
    targets: list[ClusterTarget] = []
    primary: S3WeightsBucket | None = None
    replicas: list[tuple] = []
    for region in stack.aws.regions:
        provider = _provider(stack, region)
        if primary is None:
            primary = S3WeightsBucket("weights", S3WeightsBucketArgs(
                plan=stack.aws.weights_bucket, provider=provider, tags=tags))
            primary_provider = provider
            pulumi.export("aws_weights_bucket", primary.bucket_name)
        bucket = primary
        replica = stack.aws.weights_replica(region)
        if replica is not None:
            # Gateway endpoints are regional: this region reads its own replica, never the primary via NAT.
            bucket = S3WeightsBucket(replica.key, S3WeightsBucketArgs(
                plan=stack.aws.weights_bucket, provider=provider, tags=tags,
                replica_suffix=replica.name_suffix))
            replicas.append((replica, bucket))
        if not stack.aws.pools_in(region):
            continue  # the primary region may hold only the bucket: no VPC, no NAT to pay for
        eks = stack.aws.mode == "eks"
        network = AwsNetwork(f"vpc-{region}", AwsNetworkArgs(
            plan=stack.aws.network(region), provider=provider, tags=tags))
        reservations = _reservations(stack, region, provider)
        _watchdog(stack, region, provider)
        if eks:
            targets.append(_eks_region(stack, region, provider, network, bucket, reservations))
        else:
            _vm_region(stack, region, provider, network, bucket, reservations)
    if primary is not None and replicas:
        S3WeightsReplication("weights-replication", S3WeightsReplicationArgs(
            source=primary, replicas=tuple(replicas), provider=primary_provider, tags=tags))
    return targets
