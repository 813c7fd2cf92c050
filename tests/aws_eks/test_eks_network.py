"""AWS networks: new VPC per region or an existing one, S3 gateway endpoint, and every AWS cost item recorded."""
from __future__ import annotations

import pytest

from components.plan.stack import plan_stack
from tests.aws_eks.conftest import ADMIN_ARN, BLOCK_ZONE, EXISTING_SUBNETS
from tests.aws_eks.test_eks_plan import NG, spec_of

SUBNET = "aws:ec2/subnet:Subnet"


@pytest.mark.parametrize("key", ["dev", "prod", "block", "existing", "vm"])
def test_every_aws_cost_item_is_a_recorded_resource(plans, key):
    plan, spec = plans[key], spec_of(key)
    for item in plan_stack(spec).cost.items:
        if not item.type.startswith(("aws:", "gpuinfra:aws:")):
            continue
        assert len([r for r in plan.resources if r.type == item.type and r.name == item.resource]) == 1, item
        if item.type == "gpuinfra:aws:AwsNetwork":  # its NAT gateways, one per zone, are what the item prices
            nats = plan.children(item.type, item.resource, "aws:ec2/natGateway:NatGateway")
            zones = {s.inputs["availabilityZone"] for s in plan.children(item.type, item.resource, SUBNET)}
            assert len(nats) == item.count_max == len(zones) >= spec.aws.network.az_count, item


def test_existing_vpc_is_used_as_is(plans):
    plan = plans["existing"]
    assert not plan.of_type("aws:ec2/vpc:Vpc") and not plan.of_type("aws:ec2/natGateway:NatGateway")
    cluster = plan.of_type("aws:eks/cluster:Cluster")[0]
    assert sorted(cluster.inputs["vpcConfig"]["subnetIds"]) == sorted(EXISTING_SUBNETS)
    entries = plan.of_type("aws:eks/accessEntry:AccessEntry")
    assert ADMIN_ARN in [e.inputs["principalArn"] for e in entries]
    (association,) = [a.inputs for a in plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
                      if a.inputs["principalArn"] == ADMIN_ARN]
    assert association["accessScope"] == {"type": "cluster"}
    assert association["policyArn"].endswith("AmazonEKSClusterAdminPolicy")


def test_new_vpc_has_private_subnets_per_zone_and_an_s3_gateway(plans):
    plan, spec = plans["prod"], spec_of("prod")
    for network in plan.of_type("gpuinfra:aws:AwsNetwork"):
        subnets = plan.children("gpuinfra:aws:AwsNetwork", network.name, "aws:ec2/subnet:Subnet")
        private = [s for s in subnets if "-private-" in s.name]
        assert len(private) == spec.aws.network.az_count
        assert all(s.name == f"{network.name}-private-{s.inputs['availabilityZone']}" for s in private)
        assert all(s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in private)
        endpoint = plan.children("gpuinfra:aws:AwsNetwork", network.name, "aws:ec2/vpcEndpoint:VpcEndpoint")[0].inputs
        region = network.name.removeprefix("vpc-")
        assert endpoint["serviceName"] == f"com.amazonaws.{region}.s3" and endpoint["vpcEndpointType"] == "Gateway"
        tables = plan.children("gpuinfra:aws:AwsNetwork", network.name, "aws:ec2/routeTable:RouteTable")
        private_tables = {t.outputs["id"] for t in tables if "-private-" in t.name}
        assert set(endpoint["routeTableIds"]) == private_tables


def test_vm_mode_builds_no_cluster_but_the_same_network_and_bucket(plans):
    plan = plans["vm"]
    assert not plan.of_type("aws:eks/cluster:Cluster") and not plan.of_type(NG)
    assert plan.of_type("gpuinfra:aws:VmServingFleet") and plan.one("aws:s3/bucket:Bucket", "weights")
    subnets = plan.of_type("aws:ec2/subnet:Subnet")
    assert not [s for s in subnets if any(k.startswith("kubernetes.io/cluster/") for k in s.inputs["tags"])]


def test_a_block_outside_the_first_zones_gets_its_own_subnet_and_nothing_else_moves(plans):
    """Issue 17 item 9: the VPC spanned only the first ``az_count`` zones, so a Capacity Block (or ODCR) elsewhere
    crashed subnet selection. The plan adds the zone; the cluster, the system and the unreserved node groups keep
    the first zones (an EKS node group's subnet_ids force a replacement), and the shared zones keep their CIDRs."""
    block, prod = plans["block"], plans["prod"]
    zone_of = {s.outputs["id"]: s.inputs["availabilityZone"] for s in block.of_type(SUBNET)}
    first = ["us-east-1a", "us-east-1b", "us-east-1c"]
    (group,) = [g for g in block.of_type(NG) if g.name == "h200-use1-capacity-block"]
    assert [zone_of[s] for s in group.inputs["subnetIds"]] == [BLOCK_ZONE]
    for name in ("h200-use1-spot", "h200-use1-on-demand-fallback"):
        assert sorted(zone_of[s] for s in block.one(NG, name).inputs["subnetIds"]) == first
    cluster = block.one("aws:eks/cluster:Cluster", "gpuinfra-prod-us-east-1")
    assert sorted(zone_of[s] for s in cluster.inputs["vpcConfig"]["subnetIds"]) == first
    cidrs = {(s.name, s.inputs["cidrBlock"]) for s in prod.of_type(SUBNET)}
    assert cidrs < {(s.name, s.inputs["cidrBlock"]) for s in block.of_type(SUBNET)}  # nothing renumbered
