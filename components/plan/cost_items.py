"""Cost items beside the GPU rungs: control planes, system nodes, NAT, load balancers, bucket storage."""
from __future__ import annotations

from dataclasses import dataclass

from components.catalog.services import service_price, system_node_price
from components.plan import names
from components.plan.aws_network import plan_network
from components.plan.basis import PlanBasis
from components.plan.pricing import GB_PER_GIB, HOURS_PER_MONTH, Hourly, nlb_hourly
from components.spec import StackSpec


@dataclass(frozen=True)
class CostItem:
    """What one capacity-bearing or billed resource costs."""

    resource: str
    type: str
    instance_type: str | None
    region: str
    count_min: int
    count_max: int
    purchase: str
    hourly: Hourly
    unit_hourly: Hourly | None = None
    """One node's price (GPU rungs); ``hourly`` is not always count x unit: with traffic the burst follows it."""




def platform_items(spec: StackSpec) -> list[CostItem]:
    """Control planes, system nodes and NAT per cluster/VPC region."""
    items = []
    if spec.aws:
        # A NAT gateway and its Elastic IP per zone (public IPv4 is billed per address-hour since 2024-02-01).
        nat = service_price("network", "aws_nat_gateway_hour").usd + service_price("network", "aws_public_ipv4_hour").usd
        for region in spec.pool_regions("aws"):
            if spec.aws.mode == "eks":
                cluster = names.cluster_name(spec.environment, "aws", region)
                items.append(CostItem(cluster, "aws:eks/cluster:Cluster", None, region, 1, 1, "on-demand",
                                      Hourly.flat(service_price("control_planes", "eks_cluster_hour").usd)))
                sys_type = spec.aws.eks.system_instance_type
                price = system_node_price("aws", sys_type)
                if price is not None:
                    n_min, n_max = spec.aws.eks.system_nodes, 2 * spec.aws.eks.system_nodes
                    items.append(CostItem(f"{cluster}-system", "aws:eks/nodeGroup:NodeGroup", sys_type, region,
                                          n_min, n_max, "on-demand", Hourly(price.usd * n_min, price.usd * n_min, price.usd * n_max)))
            else:
                items.append(CostItem(f"serving-lb-{region}", "aws:lb/loadBalancer:LoadBalancer", None, region, 1, 1,
                                      "on-demand", Hourly.flat(nlb_hourly())))
            if not spec.aws.network.existing_vpc_id:
                azs = len(plan_network(spec, region).subnets)  # az_count plus zones added for reservations
                # One NAT gateway per zone (named by zone at deploy time): priced on the network component.
                items.append(CostItem(f"vpc-{region}", "gpuinfra:aws:AwsNetwork", None, region, azs, azs,
                                      "on-demand", Hourly.flat(azs * nat)))
    if spec.gcp:
        for region in spec.pool_regions("gcp"):
            if spec.gcp.mode == "gke":
                cluster = names.cluster_name(spec.environment, "gcp", region)
                items.append(CostItem(cluster, "gcp:container/cluster:Cluster", None, region, 1, 1, "on-demand",
                                      Hourly.flat(service_price("control_planes", "gke_cluster_hour").usd)))
                price = system_node_price("gcp", spec.gcp.gke.system_machine_type)
                if price is not None:
                    n_min = spec.gcp.gke.system_nodes * 3  # per zone, regional cluster over three zones
                    items.append(CostItem(names.gke_system_pool(region), "gcp:container/nodePool:NodePool",
                                          spec.gcp.gke.system_machine_type, region, n_min, 2 * n_min, "on-demand",
                                          Hourly(price.usd * n_min, price.usd * n_min, price.usd * 2 * n_min)))
            else:
                items.append(CostItem(f"serving-ilb-{region}", "gcp:compute/forwardingRule:ForwardingRule", None, region,
                                      1, 1, "on-demand", Hourly.flat(service_price("network", "gcp_forwarding_rule_hour").usd)))
    return items


def storage_items(basis: PlanBasis) -> list[CostItem]:
    """Weights buckets: every served revision (and canary revision) of every model, once per cloud."""
    spec, serving = basis.spec, basis.serving
    items = []
    for cloud, key, typ in (("aws", "s3_standard_gb_month", "aws:s3/bucket:Bucket"),
                            ("gcp", "gcs_standard_gb_month", "gcp:storage/bucket:Bucket")):
        section = spec.section(cloud)
        if section is None:
            continue
        gib = 0.0
        for model in spec.models:
            plans = [p for p in serving if p.model == model.name and p.cloud == cloud]
            if plans:
                gib += plans[0].weights_gib * (2 if model.canary else 1)
        usd = gib * GB_PER_GIB * service_price("storage", key).usd / HOURS_PER_MONTH
        items.append(CostItem("weights", typ, None, section.region or "", 1, 1, "on-demand", Hourly.flat(usd)))
    return items
