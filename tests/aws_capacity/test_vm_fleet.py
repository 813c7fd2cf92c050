"""VM-mode fleet under Pulumi mocks: ladder rendering, launch templates, reservations, network, IAM, tags, cost."""
from __future__ import annotations

import json

import pulumi_aws
import pytest

from components.catalog import load_catalog
from components.catalog.versions import image, vllm_image
from components.plan import names
from components.plan.bootstrap import DRAIN_SECONDS, LIFECYCLE_HEARTBEAT_SECONDS
from components.preview.config import secret_placeholder
from tests.aws_capacity.conftest import ASG, BLOCK_OFFERING, BLOCK_ZONE, LT, SUBNET

POOL = "l40s-vm"
RULE_IN = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
RULE_OUT = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
ODCR = "aws:ec2/capacityReservation:CapacityReservation"
BLOCK = "aws:ec2/capacityBlockReservation:CapacityBlockReservation"


def _lt_by_id(plan, lt_id):
    return plan.by_output(LT, "id", lt_id)


def _fleet_lt(plan):
    group = plan.one(ASG, names.fleet_name(POOL))
    spec = group.inputs["mixedInstancesPolicy"]["launchTemplate"]["launchTemplateSpecification"]
    return _lt_by_id(plan, spec["launchTemplateId"])


# --- the ladder as Auto Scaling groups ---------------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["staging", "odcr", "no_spot"])
def test_fleet_group_renders_the_on_demand_base_and_spot_burst(request, fixture):
    plan = request.getfixturevalue(fixture)
    pool = plan.spec.pool(POOL)[1]
    rungs = [r for r in plan.ladder(POOL).rungs if r.tier in ("on-demand", "spot")]
    on_demand = sum(r.min_nodes for r in rungs if r.tier == "on-demand")
    spot = next((r for r in rungs if r.tier == "spot"), None)
    group = plan.one(ASG, names.fleet_name(POOL)).inputs
    dist = group["mixedInstancesPolicy"]["instancesDistribution"]
    assert (group["minSize"], group["maxSize"]) == (on_demand, sum(r.max_nodes for r in rungs))
    assert dist["onDemandBaseCapacity"] == on_demand
    assert dist["onDemandPercentageAboveBaseCapacity"] == (0 if spot else 100)
    assert dist["spotAllocationStrategy"] == "price-capacity-optimized"
    overrides = [o["instanceType"] for o in group["mixedInstancesPolicy"]["launchTemplate"]["overrides"]]
    assert overrides == list(pool.instance_types)
    assert {load_catalog().instance("aws", t).gpu.name for t in overrides} == {"L40S"}  # one GPU class
    assert group["capacityRebalance"] is bool(spot)
    assert group["healthCheckType"] == "ELB" and group["waitForCapacityTimeout"] == "0"


def test_every_group_drains_before_termination_and_registers_with_the_target_group(odcr):
    target_arns = {t.outputs["arn"] for t in odcr.of_type("aws:lb/targetGroup:TargetGroup")}
    groups = odcr.of_type(ASG)
    assert {g.name for g in groups} == {names.fleet_name(POOL), names.rung_name(POOL, "reserved")}
    for group in groups:
        (hook,) = group.inputs["initialLifecycleHooks"]
        assert hook["lifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING"
        assert hook["heartbeatTimeout"] == LIFECYCLE_HEARTBEAT_SECONDS > DRAIN_SECONDS
        assert hook["defaultResult"] == "CONTINUE"
        assert set(group.inputs["targetGroupArns"]) <= target_arns and group.inputs["targetGroupArns"]
        assert all(t["propagateAtLaunch"] for t in group.inputs["tags"])


def test_reserved_floor_is_its_own_group_in_the_reservation_zone(odcr):
    reservation = odcr.spec.aws.reservations[0]
    rung = odcr.ladder(POOL).rung("reserved")
    group = odcr.one(ASG, names.rung_name(POOL, "reserved")).inputs
    assert (group["minSize"], group["maxSize"]) == (rung.min_nodes, rung.max_nodes) == (1, 1)
    (subnet_id,) = group["vpcZoneIdentifiers"]
    subnet = odcr.by_output(SUBNET, "id", subnet_id)
    assert subnet.inputs["availabilityZone"] == reservation.availability_zone == "us-east-2b"
    fleet_subnets = odcr.one(ASG, names.fleet_name(POOL)).inputs["vpcZoneIdentifiers"]
    assert subnet_id in fleet_subnets and fleet_subnets[0] != subnet_id, "not simply the first private subnet"
    lt = _lt_by_id(odcr, group["launchTemplate"]["id"]).inputs
    odcr_record = odcr.one(ODCR, reservation.name)
    target = lt["capacityReservationSpecification"]["capacityReservationTarget"]
    assert target["capacityReservationId"] == odcr_record.outputs["id"]
    assert lt["instanceType"] == reservation.instance_type and "instanceMarketOptions" not in lt
    assert "capacityReservationSpecification" not in _fleet_lt(odcr).inputs


def test_odcr_matches_its_spec(odcr):
    r = odcr.spec.aws.reservations[0]
    inputs = odcr.one(ODCR, r.name).inputs
    assert inputs["availabilityZone"] == r.availability_zone and inputs["instanceType"] == r.instance_type
    assert inputs["instanceCount"] == r.count and inputs["instanceMatchCriteria"] == "targeted"
    assert inputs["instancePlatform"] == "Linux/UNIX" and inputs["tenancy"] == "default"
    assert (inputs["endDateType"], inputs["endDate"]) == ("limited", f"{r.end_date.isoformat()}T00:00:00Z")


# --- Capacity Blocks ----------------------------------------------------------------------------------------

def test_no_capacity_block_and_no_lookup_without_the_opt_in(block_offered):
    """Issue 17 item 3: the provider's getCapacityBlockOffering errors on zero and on several matches, and once a
    block is bought its offering is gone: the stack never searches; it says what to run instead."""
    assert not block_offered.of_type(BLOCK)
    assert not [t for t in block_offered.invokes if "CapacityBlock" in t]
    assert not [g for g in block_offered.of_type(ASG) if g.name == names.rung_name(POOL, "capacity-block")]
    (warning,) = [w for w in block_offered.sections["warnings"] if "l40s-block" in w]
    assert "python scripts/capacity.py --capacity-blocks --stack staging" in warning


def test_capacity_block_buys_the_configured_offering_protected_in_its_zone(block_bought):
    """terraform-provider-aws internal/service/ec2/ec2_capacity_block_reservation.go: capacity_block_offering_id
    and instance_platform RequiresReplace, Delete is a no-op. A replacement would buy a second block: protected
    (the engine refuses the replacement instead of ignoring the change) and retained."""
    block = block_bought.one(BLOCK, "l40s-block")
    assert block.inputs["capacityBlockOfferingId"] == BLOCK_OFFERING
    assert block.options["protect"] is True and block.options["retainOnDelete"] is True
    assert "capacityBlockOfferingId" not in block.options.get("ignoreChanges", [])
    group = block_bought.one(ASG, names.rung_name(POOL, "capacity-block")).inputs
    lt = _lt_by_id(block_bought, group["launchTemplate"]["id"]).inputs
    assert lt["instanceMarketOptions"] == {"marketType": "capacity-block"}
    assert lt["capacityReservationSpecification"]["capacityReservationTarget"]["capacityReservationId"] == block.outputs["id"]
    (subnet_id,) = group["vpcZoneIdentifiers"]
    assert block_bought.by_output(SUBNET, "id", subnet_id).inputs["availabilityZone"] == BLOCK_ZONE  # configured


# --- launch template ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["staging", "odcr"])
def test_launch_templates_require_imdsv2_encrypt_root_and_hide_public_ip(request, fixture):
    plan = request.getfixturevalue(fixture)
    pool = plan.spec.pool(POOL)[1]
    for lt in [r for r in plan.of_type(LT) if "gpuinfra:aws:VmServingFleet" in plan.ancestors(r)]:
        meta = lt.inputs["metadataOptions"]
        assert meta["httpTokens"] == "required" and meta["httpPutResponseHopLimit"] == plan.spec.aws.imds_hop_limit
        (root,) = lt.inputs["blockDeviceMappings"]
        assert root["ebs"] == {"volumeType": "gp3", "encrypted": "true", "volumeSize": pool.root_volume_gib,
                               "deleteOnTermination": "true"}
        assert [n["associatePublicIpAddress"] for n in lt.inputs["networkInterfaces"]] == ["false"]
        assert {t["resourceType"] for t in lt.inputs["tagSpecifications"]} >= {"instance", "volume"}
        assert lt.inputs["updateDefaultVersion"] is True and lt.inputs["imageId"].startswith("ami-")
    assert "aws:ssm/getParameter:getParameter" in plan.invokes


def test_user_data_stripes_nvme_verifies_weights_pins_images_and_holds_no_secret(staging):
    doc, script = staging.user_data_script(_fleet_lt(staging))
    assert "mdadm --create" in script and "--level=0" in script
    assert "sha256" in script and "manifest.json" in script
    model = staging.spec.models[0]
    assert f"s3://{staging.outputs['aws_weights_bucket']}/{names.model_prefix(model.name, model.revision)}" in script
    for pinned in (vllm_image(), image("dcgm_exporter"), image("node_exporter")):
        assert f"={pinned}\n" in script
    assert ":latest" not in script
    placeholder = secret_placeholder("gpuinfra:vllm_api_key")
    assert placeholder in staging.config.values(), "the stack sets an API key"
    text = json.dumps(doc)
    assert placeholder not in text and "[secret]" not in text
    secret_arn = staging.of_type("aws:secretsmanager/secret:Secret")[0].outputs["arn"]
    assert f"API_KEY_SECRET={secret_arn}" in script
    version = staging.of_type("aws:secretsmanager/secretVersion:SecretVersion")[0]
    assert version.inputs["secretString"] == "[secret]"


# --- network and identity -----------------------------------------------------------------------------------

def _sg_ids(plan):
    return {r.name.rsplit("-", 2)[-2]: r.outputs["id"] for r in plan.of_type(SG)
            if "gpuinfra:aws:VmServingFleet" in plan.ancestors(r)}


@pytest.mark.parametrize("fixture", ["staging", "odcr"])
def test_security_groups_admit_serving_only_from_the_lb_and_metrics_only_from_monitoring(request, fixture):
    plan = request.getfixturevalue(fixture)
    sgs = _sg_ids(plan)
    assert set(sgs) == {"lb", "monitoring", "instance"}
    ingress = plan.of_type(RULE_IN)
    assert all(r.inputs.get("cidrIpv4") != "0.0.0.0/0" and r.inputs.get("cidrIpv6") != "::/0" for r in ingress)
    assert not [s for s in plan.of_type(SG) if s.inputs.get("ingress")], "no inline ingress"
    to_instances = [r.inputs for r in ingress if r.inputs["securityGroupId"] == sgs["instance"]]
    serving = [r for r in to_instances if r["fromPort"] <= 8000 <= r["toPort"]]
    # 8000: the load balancer (traffic) and the monitoring group (vLLM's /metrics), never a CIDR
    assert sorted(r.get("referencedSecurityGroupId") for r in serving) == sorted([sgs["lb"], sgs["monitoring"]])
    assert all("cidrIpv4" not in r for r in serving)
    cidrs = {str(c) for c in plan.spec.aws.vm.monitoring_cidrs}
    for r in to_instances:
        assert r["fromPort"] == r["toPort"] and r["fromPort"] in (8000, 9400, 9100)
        if r["fromPort"] != 8000:
            assert r.get("referencedSecurityGroupId") == sgs["monitoring"] or r.get("cidrIpv4") in cidrs
    assert {r["cidrIpv4"] for r in to_instances if "cidrIpv4" in r} == cidrs
    egress = [r.inputs for r in plan.of_type(RULE_OUT) if r.inputs["securityGroupId"] == sgs["instance"]]
    assert sorted((r["fromPort"], r["ipProtocol"]) for r in egress) == [(53, "tcp"), (53, "udp"), (443, "tcp")]


@pytest.mark.parametrize("fixture", ["staging", "odcr"])
def test_monitoring_group_reaches_every_port_the_vm_scrape_config_scrapes(request, fixture):
    # The ports come from the plan's prometheus.yml (ec2_sd_configs), not from the fleet's own constants.
    from components.plan.scrape import scrape_config
    from components.plan.stack import plan_stack

    plan = request.getfixturevalue(fixture)
    sgs = _sg_ids(plan)
    jobs = scrape_config(plan_stack(plan.spec).basis)["scrape_configs"]
    scraped = {sd["port"] for job in jobs for sd in job.get("ec2_sd_configs", [])}
    assert 8000 in scraped  # vLLM's own /metrics
    admitted = {r.inputs["fromPort"] for r in plan.of_type(RULE_IN) if r.inputs["securityGroupId"] == sgs["instance"]
                and r.inputs.get("referencedSecurityGroupId") == sgs["monitoring"]
                and r.inputs["fromPort"] == r.inputs["toPort"]}
    leaves = {r.inputs["fromPort"] for r in plan.of_type(RULE_OUT) if r.inputs["securityGroupId"] == sgs["monitoring"]
              and r.inputs.get("referencedSecurityGroupId") == sgs["instance"]}
    assert scraped <= admitted and scraped <= leaves
    assert admitted == leaves == scraped  # the monitoring group opens nothing else


def test_load_balancer_is_internal_with_health_checks_on_health(staging, no_spot):
    for plan, kind in ((staging, "network"), (no_spot, "application")):
        lb = plan.one("aws:lb/loadBalancer:LoadBalancer", "serving-lb-us-east-2").inputs
        assert lb["internal"] is True and lb["loadBalancerType"] == kind
        assert lb["securityGroups"] == [_sg_ids(plan)["lb"]]
        (tg,) = plan.of_type("aws:lb/targetGroup:TargetGroup")
        health = tg.inputs["healthCheck"]
        assert (health["path"], health["port"], health["protocol"]) == ("/health", "8000", "HTTP")
        (listener,) = plan.of_type("aws:lb/listener:Listener")
        assert listener.inputs["defaultActions"][0]["targetGroupArn"] == tg.outputs["arn"]


def test_instance_profile_reads_only_its_model_revision(staging):
    model = staging.spec.models[0]
    bucket_arn = f"arn:aws:s3:::{staging.outputs['aws_weights_bucket']}"
    prefix = names.model_prefix(model.name, model.revision)
    (policy,) = [r for r in staging.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith(f"{POOL}-policy")]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    s3 = [s for s in statements if any(str(a).startswith("s3:") for a in _list(s["Action"]))]
    assert {a for s in s3 for a in _list(s["Action"])} == {"s3:GetObject", "s3:ListBucket"}
    get = next(s for s in s3 if "s3:GetObject" in _list(s["Action"]))
    assert _list(get["Resource"]) == [f"{bucket_arn}/{prefix}*"]
    listing = next(s for s in s3 if "s3:ListBucket" in _list(s["Action"]))
    assert _list(listing["Condition"]["StringLike"]["s3:prefix"]) == [f"{prefix}*"]
    secret = next(s for s in statements if s["Action"] == "secretsmanager:GetSecretValue")
    assert secret["Resource"] == staging.of_type("aws:secretsmanager/secret:Secret")[0].outputs["arn"]
    metric = next(s for s in statements if s["Action"] == "cloudwatch:PutMetricData")
    assert metric["Condition"]["StringEquals"]["cloudwatch:namespace"] == "gpuinfra/GPU"
    assert not [s for s in statements if _list(s["Action"]) == ["*"] or "s3:*" in _list(s["Action"])]


def _list(value):
    return value if isinstance(value, list) else [value]


# --- tags ---------------------------------------------------------------------------------------------------

def _taggable(token: str) -> bool:
    module, cls = token.split(":")[1].split("/")[0], token.rsplit(":", 1)[-1]
    args = getattr(getattr(pulumi_aws, "lambda_" if module == "lambda" else module), f"{cls}Args")
    return hasattr(args, "tags")


@pytest.mark.parametrize("fixture", ["staging", "odcr", "block_bought", "prod_vm"])
def test_every_taggable_resource_carries_the_cost_tags(request, fixture):
    plan = request.getfixturevalue(fixture)
    wanted = {"Environment", "CostCenter", "Owner", "Model"} | ({"AutoShutdown"} if plan.spec.environment != "prod" else set())
    mine = [r for r in plan.mine() if _taggable(r.type)]
    assert len({r.type for r in mine}) >= 10
    for r in mine:
        tags = r.inputs.get("tags")
        keys = {t["key"] for t in tags} if isinstance(tags, list) else set(tags or {})
        assert wanted <= keys, (r.type, r.name, keys)
        if plan.spec.environment == "prod":
            assert "AutoShutdown" not in keys, (r.type, r.name)
    for lt in plan.of_type(LT):
        for spec in lt.inputs["tagSpecifications"]:
            assert wanted <= set(spec["tags"]), spec


# --- cost ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["staging", "odcr", "block_bought"])
def test_cost_items_of_the_fleet_match_catalog_prices_and_group_bounds(request, fixture):
    plan = request.getfixturevalue(fixture)
    catalog, region = load_catalog(), "us-east-2"
    items = [i for i in plan.sections["cost"]["items"] if i["type"] == ASG]
    assert items
    for name in {i["resource"] for i in items}:
        group = plan.one(ASG, name).inputs
        mine = [i for i in items if i["resource"] == name]
        assert sum(i["count_min"] for i in mine) == group["minSize"]
        assert sum(i["count_max"] for i in mine) == group["maxSize"]
    for item in items:
        price = catalog.price("aws", item["instance_type"], region)
        od = price.capacity_block or price.on_demand if item["purchase"] == "capacity-block" else price.on_demand
        assert item["hourly"]["worst"] == pytest.approx(od * item["count_max"], abs=1e-3)
        if item["purchase"] != "spot":
            assert item["hourly"]["best"] == pytest.approx(od * item["count_max"], abs=1e-3)
    lb = next(i for i in plan.sections["cost"]["items"] if i["resource"] == "serving-lb-us-east-2")
    assert plan.one(lb["type"], lb["resource"])


@pytest.mark.parametrize("fixture", ["staging", "odcr", "block_bought"])
def test_every_resource_uses_the_regions_explicit_provider(request, fixture):
    plan = request.getfixturevalue(fixture)
    mine = plan.mine()
    assert mine and {r.options.get("provider") for r in mine} == {"aws-us-east-2"}
