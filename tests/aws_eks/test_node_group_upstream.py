"""EKS GPU node groups against what the EKS API accepts (issue 17)."""
from __future__ import annotations

from tests.aws_eks.conftest import capacity_block_raw

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
