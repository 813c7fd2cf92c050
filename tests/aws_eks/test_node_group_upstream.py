"""EKS GPU node groups against what the EKS API accepts (issue 17)."""
from __future__ import annotations

import re

import pytest

from components.preview import mocks
from tests.aws_eks.conftest import capacity_block_raw, run_plan

NG = "aws:eks/nodeGroup:NodeGroup"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
BLOCK = "aws:ec2/capacityBlockReservation:CapacityBlockReservation"


def test_capacity_block_type_lives_in_the_launch_template_not_the_node_group(plans):
    """EKS user guide "Create a managed node group with Capacity Blocks for ML"
    (https://docs.aws.amazon.com/eks/latest/userguide/capacity-blocks-mng.html): the launch template carries
    ``InstanceType``, ``InstanceMarketOptions.MarketType: capacity-block`` and the block as
    ``CapacityReservationTarget``; CreateNodegroup fails when the template names a type and ``instanceTypes`` is
    set too (https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html)."""
    plan = plans["block"]
    configured = capacity_block_raw()["gpuinfra:aws"]["capacity_blocks"][0]
    block = plan.one(BLOCK, configured["name"])
    group = plan.one(NG, "h200-use1-capacity-block")
    assert group.inputs["capacityType"] == "CAPACITY_BLOCK"
    assert not group.inputs.get("instanceTypes"), "the template names the type: the node group must name none"
    template = plan.one(LT, "h200-use1-capacity-block-lt").inputs
    assert template.get("instanceType") == configured["instance_type"]
    assert template["instanceMarketOptions"] == {"marketType": "capacity-block"}
    target = template["capacityReservationSpecification"]["capacityReservationTarget"]
    assert target["capacityReservationId"] == block.outputs["id"]


def test_other_gpu_rungs_keep_types_on_the_node_group_only(plans):
    """Without a capacity block the template stays type-free and the node group lists the rung's types."""
    for key in ("dev", "prod", "block"):
        for group in plans[key].of_type(NG):
            if group.name.endswith("-system") or group.inputs["capacityType"] == "CAPACITY_BLOCK":
                continue
            assert group.inputs["instanceTypes"], group.name
            template = plans[key].one(LT, f"{group.name}-lt").inputs
            assert "instanceType" not in template, group.name


def _gpu_groups(plan):
    return [g for g in plan.of_type(NG) if not g.name.endswith("-system")]


def test_reservation_rungs_replace_nodes_without_surging(plans):
    """EKS API NodegroupUpdateConfig.updateStrategy
    (https://docs.aws.amazon.com/eks/latest/APIReference/API_NodegroupUpdateConfig.html): DEFAULT launches new
    instances before terminating old ones, MINIMAL terminates first. A surge node cannot launch into a fully used
    ODCR (prod: 1 of 1) or a Capacity Block, so those rungs must not use DEFAULT (nor omit it: DEFAULT is the
    default); pulumi-aws 7.51 eks.NodeGroupUpdateConfigArgs accepts MINIMAL and DEFAULT."""
    seen = set()
    for key in ("prod", "block"):
        for group in _gpu_groups(plans[key]):
            config = group.inputs["updateConfig"]
            assert config.get("updateStrategy") in ("MINIMAL", "DEFAULT"), group.name
            reserved = group.inputs["capacityType"] == "CAPACITY_BLOCK" or "capacityReservationSpecification" in \
                plans[key].one(LT, f"{group.name}-lt").inputs
            if reserved:
                seen.add(group.inputs["capacityType"])
                assert config["updateStrategy"] == "MINIMAL", f"{key}: {group.name} surges onto its reservation"
            assert config.get("maxUnavailable") == 1 or config.get("maxUnavailablePercentage"), group.name
    assert seen == {"ON_DEMAND", "CAPACITY_BLOCK"}, "both an ODCR rung and a capacity-block rung were checked"


NEWER = "1.35.99-20991231"


@pytest.fixture(scope="module")
def newer_ami_published():
    """dev planned while AWS's SSM "recommended" release parameter already names a newer AMI."""
    original = mocks.INVOKES["aws:ssm/getParameter:getParameter"]

    def answer(ctx):
        result = dict(original(ctx))
        if str(ctx.inputs.get("name", "")).endswith("/recommended/release_version"):
            result["value"] = result["insecureValue"] = NEWER
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(mocks.INVOKES, "aws:ssm/getParameter:getParameter", answer)
        yield run_plan("dev")


def test_a_newly_published_ami_rolls_no_node_group_and_is_shown_as_an_update(newer_ami_published, plans):
    """Each new release_version replaces every node of a managed node group (EKS "Managed node update
    behavior", https://docs.aws.amazon.com/eks/latest/userguide/managed-node-update-behavior.html): publishing one
    (the SSM parameter /aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/x86_64/nvidia/recommended/
    release_version changing) must change no node group; the plan reports it as an available update instead."""
    before = {g.name: g.inputs["releaseVersion"] for g in _gpu_groups(plans["dev"])}
    after = {g.name: g.inputs["releaseVersion"] for g in _gpu_groups(newer_ami_published)}
    assert before and after == before, "a published AMI changed the node groups' release"
    assert NEWER not in after.values()
    reports = {k: v for k, v in newer_ami_published.outputs.items() if k.startswith("eks_ami_release_")}
    assert reports and all(r["recommended"] == NEWER and r["update_available"] for r in reports.values())
    for group, release in after.items():  # release versions are "<kubernetes patch>-<AMI build date>"
        assert re.fullmatch(r"1\.35\.\d+-\d{8}", release), (group, release)


def test_policies_still_see_the_capacity_block_rungs_gpu_type(plans):
    """The policy pack reads GPU capacity back from resources: with the type moved into the launch template the
    capacity-block rung must still count as GPU capacity of its configured type."""
    from policies.rules.fleet import gpu_capacity
    from policies.rules.view import from_records

    records = [{"type": r.type, "name": r.name, "parent": r.parent, "inputs": r.inputs, "options": r.options}
               for r in plans["block"].resources]
    rows = [c for c in gpu_capacity(from_records(records), {"aws_region": "us-east-1"}) if c.tier == "capacity-block"]
    configured = capacity_block_raw()["gpuinfra:aws"]["capacity_blocks"][0]["instance_type"]
    assert [(c.purchase, c.instance_types) for c in rows] == [("capacity-block", (configured,))]
