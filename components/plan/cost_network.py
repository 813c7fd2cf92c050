"""Cost items that scale with networking and disks: load balancers, NAT data, root volumes, weight copies."""
from __future__ import annotations

from components.catalog.services import service_price
from components.plan import names
from components.plan.aws_network import plan_network
from components.plan.basis import PlanBasis
from components.plan.cost_items import CostItem
from components.plan.pricing import GB_PER_GIB, HOURS_PER_MONTH, Hourly, nlb_hourly
from components.plan.weights_replication import plan_weights_replicas
from components.spec import StackSpec
from components.catalog.vocab import AWS, Cloud

#: GB pulled through NAT per node cold start: the vLLM CUDA image comes from Docker Hub (no VPC endpoint).
#: Assumption, order of magnitude of the compressed vllm/vllm-openai image; weights use the S3 gateway endpoint.
IMAGE_GB_PER_COLD_START = 10.0


def _price(key: str, section: str = "network") -> float:
    return service_price(section, key).usd


def _flat(resource: str, typ: str, region: str, count: int, purchase: str, usd_per_hour: float) -> CostItem:
    return CostItem(resource, typ, None, region, count, count, purchase, Hourly.flat(usd_per_hour))


def _cluster_load_balancers(spec: StackSpec, cloud: Cloud, region: str) -> list[tuple[str, str]]:
    """(type, name) of the records declaring one cluster's LoadBalancer Services: the router's EnvoyProxy
    (components/k8s/router.py ``<cluster>-router-envoy-proxy``), else each exposed model's Service
    (components/k8s/vllm_service.py ``<cluster>-<model>-<pool>-load-balancer``; k8s/manifests/access.py)."""
    cluster = names.cluster_name(spec.environment, cloud, region)
    if spec.serving.exposure == "cluster-ip":
        return []
    if spec.serving.routing.enabled:
        return [("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy", f"{cluster}-router-envoy-proxy")]
    section = spec.section(cloud)
    assert section is not None
    pools = [p.name for p in section.gpu_pools if spec.pool_region(cloud, p) == region]
    # GKE public: an Ingress (external Application Load Balancer, one forwarding rule) instead of the Service.
    typ, suffix = (("kubernetes:networking.k8s.io/v1:Ingress", "ingress") if (cloud, spec.serving.exposure) ==
                   ("gcp", "public") else ("kubernetes:core/v1:Service", "load-balancer"))
    return [(typ, f"{cluster}-{m.name}-{pool}-{suffix}") for m in spec.models for pool in pools if pool in m.pools]


def load_balancer_items(spec: StackSpec) -> list[CostItem]:
    """Load balancers the Kubernetes controllers create for LoadBalancer Services: an NLB each on EKS (hour, one
    NLCU-hour, and one public IPv4 per zone when internet-facing), a forwarding rule each on GKE."""
    items = []
    if spec.aws and spec.aws.mode == "eks":
        ips = spec.aws.network.az_count if spec.serving.exposure == "public" else 0
        usd = nlb_hourly() + ips * _price("aws_public_ipv4_hour")
        for region in spec.pool_regions("aws"):
            items += [_flat(name, typ, region, 1, "on-demand", usd)
                      for typ, name in _cluster_load_balancers(spec, "aws", region)]
    if spec.gcp and spec.gcp.mode == "gke":
        for region in spec.pool_regions("gcp"):
            items += [_flat(name, typ, region, 1, "on-demand", _price("gcp_forwarding_rule_hour"))
                      for typ, name in _cluster_load_balancers(spec, "gcp", region)]
    return items


def nat_data_items(spec: StackSpec) -> list[CostItem]:
    """NAT data processing: the serving image pulled on every node cold start (``budget.cold_starts_per_month``)."""
    if spec.aws is None or spec.aws.network.existing_vpc_id:
        return []
    gb_per_pool = spec.budget.cold_starts_per_month * IMAGE_GB_PER_COLD_START
    items = []
    for region in spec.pool_regions("aws"):
        pools = sum(1 for p in spec.aws.gpu_pools if spec.pool_region("aws", p) == region)
        usd = pools * gb_per_pool * _price("aws_nat_gateway_gb") / HOURS_PER_MONTH
        azs = len(plan_network(spec, region).subnets)  # the region's NAT gateways, one per planned zone
        items.append(_flat(f"vpc-{region}", "gpuinfra:aws:AwsNetwork", region, azs, "on-demand", usd))
    return items


def root_volume_items(basis: PlanBasis) -> list[CostItem]:
    """AWS gp3 root volumes (``root_volume_gib`` per node), on the GPU launch template each node boots from: one per
    rung on EKS (``<pool>-<tier>-lt``), one per pool in VM mode (``serving-<region>-<pool>-lt``, aws/vm_fleet.py).
    The on-demand fallback rung is skipped: its nodes are the spot rung's maximum, priced there."""
    spec = basis.spec
    if spec.aws is None:
        return []
    gb_hour = GB_PER_GIB * _price("aws_ebs_gp3_gb_month", "storage") / HOURS_PER_MONTH
    typ = "aws:ec2/launchTemplate:LaunchTemplate"
    items = []
    for pool in spec.aws.gpu_pools:
        ladder = basis.ladder(pool.name)
        per_node = pool.root_volume_gib * gb_hour
        if spec.aws.mode == "vm":
            items.append(CostItem(f"serving-{ladder.region}-{pool.name}-lt", typ, None, ladder.region, ladder.floor,
                                  ladder.max_nodes, "on-demand", Hourly.flat(per_node * ladder.max_nodes)))
            continue
        items += [CostItem(f"{names.rung_name(pool.name, r.tier)}-lt", typ, None, ladder.region, r.min_nodes, r.max_nodes,
                           "on-demand", Hourly.flat(per_node * r.max_nodes))
                  for r in ladder.rungs if r.tier != "on-demand-fallback"]
    return items


def weights_copy_items(basis: PlanBasis) -> list[CostItem]:
    """Weights outside the primary region: AWS replicas (storage + one copy per revision), GCP cross-region reads."""
    spec = basis.spec
    items = []
    gib_of = {(p.model, p.cloud): p.weights_gib for p in basis.serving}
    if spec.aws:
        copies = spec.budget.weights_revisions_per_month
        for replica in plan_weights_replicas(spec):
            gb = sum(gib_of.get((r.prefix.split("/")[0], "aws"), 0.0) for r in replica.rules) * GB_PER_GIB
            storage = gb * _price("s3_standard_gb_month", "storage") / HOURS_PER_MONTH
            transfer = gb * copies * _price("aws_inter_region_gb") / HOURS_PER_MONTH
            items.append(_flat(replica.key, "aws:s3/bucket:Bucket", replica.region, 1, "on-demand", storage))
            items.append(_flat("weights-replication-config", "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
                               replica.region, 1, "on-demand", transfer))
    if spec.gcp:
        reads = spec.budget.cold_starts_per_month
        for pool in spec.gcp.gpu_pools:
            region = spec.pool_region("gcp", pool)
            if region == spec.gcp.region:
                continue
            gb = basis.pool_weights_gib(pool.name) * GB_PER_GIB
            items.append(_flat("weights", "gcp:storage/bucket:Bucket", region, 1, "on-demand",
                               gb * reads * _price("gcp_inter_region_gb") / HOURS_PER_MONTH))
    return items


def unseen_by_policies(basis: PlanBasis) -> list[CostItem]:
    """Items the policy pack cannot price from resources: load balancers made by Kubernetes controllers, usage
    under stated assumptions (NAT data, weight copies), root volumes (sizes live on launch templates, not on the
    groups the pack prices)."""
    return [*load_balancer_items(basis.spec), *nat_data_items(basis.spec), *root_volume_items(basis),
            *weights_copy_items(basis)]


def network_items(basis: PlanBasis) -> list[CostItem]:
    """Every item of this module, for ``estimate_cost``."""
    return unseen_by_policies(basis)
