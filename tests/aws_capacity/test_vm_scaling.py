"""VM-mode burst scaling under the offline preview: the fleet group gets a target-tracking policy on the gauge
its VMs publish, within the ladder; fixed groups (reserved floor, on-demand only) get none; refusals as AWS."""
from __future__ import annotations

import pytest

from components.plan import names
from components.plan.stack import plan_stack
from components.preview.aws_outputs import ScalingPolicyRefused, _scaling_policy
from components.preview.mock_context import MockContext
from tests.aws_capacity.conftest import ASG, LT

POOL = "l40s-vm"
POLICY = "aws:autoscaling/policy:Policy"
INSTANCE_POLICY = "aws:iam/rolePolicy:RolePolicy"


@pytest.mark.parametrize("fixture", ["staging", "odcr"])
def test_the_fleet_group_tracks_waiting_requests_within_the_ladder(request, fixture):
    plan = request.getfixturevalue(fixture)
    scaling = plan_stack(plan.spec).aws.vm_scaling[POOL]
    group = plan.one(ASG, names.fleet_name(POOL))
    policies = plan.of_type(POLICY)
    assert [p.name for p in policies] == [f"{names.fleet_name(POOL)}-queue"]
    policy = policies[0].inputs
    assert policy["autoscalingGroupName"] == group.outputs["name"]
    assert policy["policyType"] == "TargetTrackingScaling" and "cooldown" not in policy
    tracking = policy["targetTrackingConfiguration"]
    assert tracking["targetValue"] == scaling.target_value and tracking["disableScaleIn"] is False
    # The policy can only move desired between the group's bounds: those are the ladder's fleet rungs.
    rungs = [plan.ladder(POOL).rung(t) for t in ("on-demand", "spot")]
    floor = sum(r.min_nodes for r in rungs if r)
    assert (group.inputs["minSize"], group.inputs["maxSize"]) == (floor, floor + rungs[1].max_nodes)
    assert (scaling.min_nodes, scaling.max_nodes) == (floor, floor + rungs[1].max_nodes)


def test_the_reserved_floor_has_no_policy_and_keeps_its_fixed_size(odcr):
    reserved = odcr.one(ASG, names.rung_name(POOL, "reserved"))
    rung = odcr.ladder(POOL).rung("reserved")
    assert reserved.inputs["minSize"] == reserved.inputs["maxSize"] == rung.min_nodes
    targets = {p.inputs["autoscalingGroupName"] for p in odcr.of_type(POLICY)}
    assert reserved.outputs["name"] not in targets


def test_a_fixed_fleet_gets_no_policy(no_spot):
    assert no_spot.of_type(POLICY) == []


def test_the_policys_metric_is_the_one_the_vms_publish_and_may_publish(staging):
    metric = staging.one(POLICY, f"{names.fleet_name(POOL)}-queue").inputs[
        "targetTrackingConfiguration"]["customizedMetricSpecification"]
    group = staging.one(ASG, names.fleet_name(POOL))
    lt_id = group.inputs["mixedInstancesPolicy"]["launchTemplate"]["launchTemplateSpecification"]["launchTemplateId"]
    _, script = staging.user_data_script(staging.by_output(LT, "id", lt_id))
    dims = {d["name"]: d["value"] for d in metric["metricDimensions"]}
    # The boot script's variables name exactly what the policy reads (a mismatch = a metric with no data,
    # and target tracking does not scale on insufficient data: EC2 Auto Scaling user guide, target tracking).
    assert f"METRICS_NAMESPACE={metric['namespace']}\n" in script
    assert f"QUEUE_METRIC_NAME={metric['metricName']}\n" in script
    assert list(dims) == ["Pool"] and f"QUEUE_DIMENSION=Pool\n" in script and f"QUEUE_POOL={POOL}\n" in script
    assert '--dimensions "$QUEUE_DIMENSION=$QUEUE_POOL"' in script
    role_policy = next(r for r in staging.of_type(INSTANCE_POLICY) if r.name.endswith(f"{POOL}-policy"))
    assert f'"cloudwatch:namespace": "{metric["namespace"]}"' in role_policy.inputs["policy"]


def _ctx(**inputs) -> MockContext:
    return MockContext(POLICY, "p", {"autoscalingGroupName": "g", **inputs}, aws_region="us-east-2")


CUSTOM = {"customizedMetricSpecification": {"namespace": "n", "metricName": "m", "statistic": "Average"}}


@pytest.mark.parametrize(("inputs", "refusal"), [
    # EC2 Auto Scaling API reference, PutScalingPolicy: Cooldown "Valid only if the policy type is SimpleScaling".
    ({"policyType": "TargetTrackingScaling", "cooldown": 300, "targetTrackingConfiguration": {
        "targetValue": 4, **CUSTOM}}, "Cooldown"),
    # TargetTrackingConfiguration: "Required if the policy type is TargetTrackingScaling".
    ({"policyType": "TargetTrackingScaling"}, "TargetTrackingConfiguration is required"),
    # PredefinedMetricSpecification: ALBRequestCountPerTarget needs a ResourceLabel.
    ({"policyType": "TargetTrackingScaling", "targetTrackingConfiguration": {"targetValue": 100,
      "predefinedMetricSpecification": {"predefinedMetricType": "ALBRequestCountPerTarget"}}}, "ResourceLabel"),
    # AdjustmentType: "Required if the policy type is StepScaling or SimpleScaling".
    ({"policyType": "StepScaling"}, "AdjustmentType"),
])
def test_the_mock_refuses_what_put_scaling_policy_refuses(inputs, refusal):
    with pytest.raises(ScalingPolicyRefused, match=refusal):
        _scaling_policy(_ctx(**inputs))


def test_the_mock_accepts_a_customized_target_tracking_policy():
    out = _scaling_policy(_ctx(policyType="TargetTrackingScaling",
                               targetTrackingConfiguration={"targetValue": 4, **CUSTOM}))
    assert out["arn"].startswith("arn:aws:autoscaling:us-east-2:") and ":autoScalingGroupName/g:policyName/" in out["arn"]
