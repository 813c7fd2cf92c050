"""Everything the program creates that AWS or GCP bills by the hour or GB has a cost item (issue 20 item 6).

The billed resources are found in the offline plan's records (what ``pulumi up`` would create), not in a list of
ours: Elastic IPs (AWS public IPv4 charge, $0.005/address-hour since 2024-02-01), Kubernetes LoadBalancer Services
(an NLB per Service through the AWS Load Balancer Controller; a forwarding rule per internal Service on GKE), the
GPU nodes' gp3 root volumes (launch template block device mappings), and every weights bucket and replication.
"""
from __future__ import annotations

import copy
import json

import pytest

from components.catalog.services import service_price
from components.plan.cost_network import nat_data_items
from components.spec import load_stack_spec
from tests.aws_eks.conftest import run_plan
from tests.conftest import STACKS, encode, plan_json, plan_of, raw_stack

EIP = "aws:ec2/eip:Eip"
BUCKET = "aws:s3/bucket:Bucket"


def _items(doc: dict) -> list[dict]:
    return doc["cost"]["items"]


def _load_balancer_records(resources: list[dict]) -> set[tuple[str, str]]:
    """(type, name) of every record that makes a cloud load balancer: a Service of type LoadBalancer, the router's
    EnvoyProxy declaring one (``spec.provider.kubernetes.envoyService.type``), a GKE Ingress."""
    found = set()
    for r in resources:
        spec = r["inputs"].get("spec") or {}
        envoy = ((spec.get("provider") or {}).get("kubernetes") or {}).get("envoyService") or {}
        if ((r["type"] == "kubernetes:core/v1:Service" and spec.get("type") == "LoadBalancer")
                or (r["type"].endswith(":EnvoyProxy") and envoy.get("type") == "LoadBalancer")
                or r["type"] == "kubernetes:networking.k8s.io/v1:Ingress"):
            found.add((r["type"], r["name"]))
    return found


def _check_load_balancers(doc: dict) -> None:
    kinds = ("kubernetes:core/v1:Service", "kubernetes:networking.k8s.io/v1:Ingress")
    priced = {(i["type"], i["resource"]) for i in _items(doc)
              if i["type"] in kinds or i["type"].endswith(":EnvoyProxy")}
    assert _load_balancer_records(doc["resources"]) == priced


@pytest.mark.parametrize("stack", STACKS)
def test_every_kubernetes_load_balancer_is_priced(stack):
    _check_load_balancers(plan_json(stack))


def test_per_model_load_balancers_are_priced_without_the_router():
    """Routing off: one LoadBalancer Service per exposed model and cluster (k8s/manifests/access.py)."""
    raw = copy.deepcopy(raw_stack("prod"))
    raw["gpuinfra:serving"]["routing"]["enabled"] = False
    resources = [{"type": r.type, "name": r.name, "inputs": r.inputs, "options": r.options}
                 for r in run_plan("prod", raw).resources]
    east = {n for _, n in _load_balancer_records(resources) if n.startswith("gpuinfra-prod-us-east-1-")}
    assert len(east) == 2, east  # llama-70b and llama-8b both serve there
    _check_load_balancers({"resources": resources, "cost": plan_of(raw).cost.to_json()})


@pytest.mark.parametrize("stack", STACKS)
def test_every_public_ipv4_address_is_priced(stack):
    """Each NAT gateway's Elastic IP is billed beside the gateway: the network item of a region covers every
    recorded NAT gateway and Elastic IP there."""
    doc = plan_json(stack)
    owed: dict[str, float] = {}
    nats: dict[str, int] = {}
    prices = {"aws:ec2/natGateway:NatGateway": service_price("network", "aws_nat_gateway_hour").usd,
              EIP: service_price("network", "aws_public_ipv4_hour").usd}
    for r in doc["resources"]:
        if r["type"] in prices:
            region = str(r["options"].get("provider")).removeprefix("aws-")
            owed[region] = owed.get(region, 0.0) + prices[r["type"]]
            nats[region] = nats.get(region, 0) + (r["type"] != EIP)
    assert EIP in {r["type"] for r in doc["resources"]} or not owed
    nat_data = {i.region: i.hourly.worst for i in nat_data_items(load_stack_spec(*encode(raw_stack(stack))))}
    for region, usd_hour in owed.items():
        network = [i for i in _items(doc) if i["resource"] == f"vpc-{region}" and i["count_max"] == nats[region]]
        total = sum(i["hourly"]["worst"] for i in network) - nat_data.get(region, 0.0)
        assert total == pytest.approx(usd_hour, abs=1e-3)


@pytest.mark.parametrize("stack", STACKS)
def test_every_gpu_root_volume_is_priced(stack):
    """Each root-volume item prices nodes at a volume size some GPU launch template really declares (gp3,
    ``blockDeviceMappings[].ebs.volumeSize`` in GiB), and there is one item per AWS pool."""
    doc = plan_json(stack)
    sizes = {m["ebs"]["volumeSize"] for r in doc["resources"] if r["type"] == "aws:ec2/launchTemplate:LaunchTemplate"
             for m in r["inputs"].get("blockDeviceMappings", []) if "ebs" in m}
    items = [i for i in _items(doc) if i["type"] == "aws:ec2/launchTemplate:LaunchTemplate"]
    assert bool(sizes) == bool(items)
    gb_month = service_price("storage", "aws_ebs_gp3_gb_month").usd
    for item in items:
        gib_per_node = item["hourly"]["worst"] * 730 / gb_month / 1.073741824 / item["count_max"]
        assert round(gib_per_node) in sizes, item


@pytest.mark.parametrize("stack", STACKS)
def test_every_bucket_and_replication_is_priced(stack):
    doc = plan_json(stack)
    regions = {str(r["options"].get("provider")).removeprefix("aws-") for r in doc["resources"] if r["type"] == BUCKET}
    priced = {i["region"] for i in _items(doc) if i["type"] == BUCKET}
    assert regions <= priced
    replications = [r for r in doc["resources"] if r["type"].endswith(":BucketReplicationConfig")]
    for config in replications:
        for rule in config["inputs"]["rules"]:
            dest = rule["destination"]["bucket"].split(":::")[1]
            (bucket,) = [r for r in doc["resources"] if r["type"] == BUCKET and r["inputs"]["bucket"] == dest]
            region = str(bucket["options"].get("provider")).removeprefix("aws-")
            assert any(i["type"].endswith(":BucketReplicationConfig") and i["region"] == region
                       for i in _items(doc)), f"{stack}: copies to {region} are not priced"
    assert json.dumps(doc["cost"])  # the section stays JSON
