"""Computed outputs of mocked AWS resources: ids, ARNs and endpoints shaped like the real ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from components.preview.mock_context import MockContext, fake_certificate, stable_uuid

Outputs = dict[str, Any]


def _arn(ctx: MockContext, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
    return f"arn:aws:{service}:{ctx.aws_region if region else ''}:{ctx.account if account else ''}:{resource}"


def _ec2(prefix: str, kind: str) -> Callable[[MockContext], Outputs]:
    """Outputs of an EC2 object whose id is ``<prefix>-<17 hex>`` and ARN ``...:<kind>/<id>``."""

    def outputs(ctx: MockContext) -> Outputs:
        ident = f"{prefix}-{ctx.hex()}"
        return {"id": ident, "arn": _arn(ctx, "ec2", f"{kind}/{ident}"), "ownerId": ctx.account}

    return outputs


def _vpc(ctx: MockContext) -> Outputs:
    out = _ec2("vpc", "vpc")(ctx)
    out |= {"defaultSecurityGroupId": f"sg-{ctx.hex(salt='sg')}", "mainRouteTableId": f"rtb-{ctx.hex(salt='rtb')}"}
    return out


def _subnet(ctx: MockContext) -> Outputs:
    zone = ctx.inputs.get("availabilityZone") or f"{ctx.aws_region}a"
    return _ec2("subnet", "subnet")(ctx) | {"availabilityZone": zone}


def _launch_template(ctx: MockContext) -> Outputs:
    return _ec2("lt", "launch-template")(ctx) | {"latestVersion": 1, "defaultVersion": 1, "name": ctx.physical_name()}




def _eip(ctx: MockContext) -> Outputs:
    ip = int(ctx.hex(4, "ip"), 16)
    return {"id": f"eipalloc-{ctx.hex()}", "allocationId": f"eipalloc-{ctx.hex()}", "publicIp": f"3.{ip >> 8 & 0xFF}.{ip & 0xFF}.10"}


def _eks_cluster(ctx: MockContext) -> Outputs:
    name = ctx.physical_name()
    host = ctx.hex(32).upper()
    return {
        "id": name,
        "name": name,
        "arn": _arn(ctx, "eks", f"cluster/{name}"),
        "endpoint": f"https://{host}.gr7.{ctx.aws_region}.eks.amazonaws.com",
        "certificateAuthority": {"data": fake_certificate(ctx.typ, name)},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{ctx.aws_region}.amazonaws.com/id/{host}"}]}],
        "version": ctx.inputs.get("version") or "1.31",
        "platformVersion": "eks.1",
        "status": "ACTIVE",
        "clusterId": stable_uuid(ctx.typ, name),
        "vpcConfig": {**(ctx.inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{ctx.hex(salt='csg')}"},
    }


def _eks_node_group(ctx: MockContext) -> Outputs:
    name = ctx.physical_name("nodeGroupName")
    cluster = ctx.inputs.get("clusterName") or "cluster"
    uid = stable_uuid(ctx.typ, ctx.name)
    return {
        "id": f"{cluster}:{name}",
        "nodeGroupName": name,
        "arn": _arn(ctx, "eks", f"nodegroup/{cluster}/{name}/{uid}"),
        "status": "ACTIVE",
        "resources": [{"autoscalingGroups": [{"name": f"eks-{name}-{uid}"}], "remoteAccessSecurityGroupId": ""}],
    }


def _iam(kind: str, unique_prefix: str) -> Callable[[MockContext], Outputs]:
    """Outputs of an IAM entity: ``arn:aws:iam::<account>:<kind>/<path><name>`` plus a unique id."""

    def outputs(ctx: MockContext) -> Outputs:
        name = ctx.physical_name()
        path = ctx.inputs.get("path") or "/"
        return {
            "id": name,
            "name": name,
            "arn": _arn(ctx, "iam", f"{kind}{path}{name}", region=False),
            "uniqueId": unique_prefix + ctx.hex(17).upper(),
        }

    return outputs






def _s3_bucket(ctx: MockContext) -> Outputs:
    bucket = ctx.physical_name("bucket", lower=True)
    return {
        "id": bucket,
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{bucket}.s3.{ctx.aws_region}.amazonaws.com",
        "region": ctx.aws_region,
        "hostedZoneId": "Z3AQBSTGFYJSTF",
    }


def _load_balancer(ctx: MockContext) -> Outputs:
    name = ctx.physical_name()[:32]
    kind = {"network": "net", "gateway": "gwy"}.get(str(ctx.inputs.get("loadBalancerType")), "app")
    suffix = f"{kind}/{name}/{ctx.hex(16)}"
    arn = _arn(ctx, "elasticloadbalancing", f"loadbalancer/{suffix}")
    return {
        "id": arn,
        "arn": arn,
        "arnSuffix": suffix,
        "name": name,
        "dnsName": f"{name}-{ctx.hex(10)}.elb.{ctx.aws_region}.amazonaws.com",
        "zoneId": "Z35SXDOTRQ7X7K",
    }


def _target_group(ctx: MockContext) -> Outputs:
    name = ctx.physical_name()[:32]
    suffix = f"targetgroup/{name}/{ctx.hex(16)}"
    arn = _arn(ctx, "elasticloadbalancing", suffix)
    return {"id": arn, "arn": arn, "arnSuffix": suffix, "name": name}


def _autoscaling_group(ctx: MockContext) -> Outputs:
    name = ctx.physical_name()
    uid = stable_uuid(ctx.typ, name)
    return {"id": name, "name": name, "arn": _arn(ctx, "autoscaling", f"autoScalingGroup:{uid}:autoScalingGroupName/{name}")}


class ScalingPolicyRefused(ValueError):
    """PutScalingPolicy would answer ValidationError for these arguments."""


def _scaling_policy_problems(inputs: dict[str, Any]) -> list[str]:
    """What PutScalingPolicy refuses (EC2 Auto Scaling API reference, PutScalingPolicy and
    TargetTrackingConfiguration / CustomizedMetricSpecification / PredefinedMetricSpecification, 2026-12)."""
    kind = inputs.get("policyType") or "SimpleScaling"
    tracking = inputs.get("targetTrackingConfiguration") or {}
    if kind != "TargetTrackingScaling":
        return [] if inputs.get("adjustmentType") or kind == "PredictiveScaling" else [
            f"AdjustmentType is required for {kind}"]
    problems = [] if tracking else ["TargetTrackingConfiguration is required for TargetTrackingScaling"]
    if inputs.get("cooldown") is not None:
        problems.append("Cooldown is valid only for SimpleScaling")
    predefined, custom = tracking.get("predefinedMetricSpecification"), tracking.get("customizedMetricSpecification")
    if tracking and bool(predefined) == bool(custom):
        problems.append("specify exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification")
    if predefined and predefined.get("predefinedMetricType") == "ALBRequestCountPerTarget" \
            and not predefined.get("resourceLabel"):
        problems.append("ALBRequestCountPerTarget needs ResourceLabel app/<lb>/<id>/targetgroup/<tg>/<id>")
    if custom and not custom.get("metrics") and not all(custom.get(k) for k in ("metricName", "namespace", "statistic")):
        problems.append("a customized metric needs MetricName, Namespace and Statistic (or Metrics)")
    return problems


def _scaling_policy(ctx: MockContext) -> Outputs:
    problems = _scaling_policy_problems(ctx.inputs)
    if problems:
        raise ScalingPolicyRefused(f"PutScalingPolicy {ctx.name}: ValidationError: {'; '.join(problems)}")
    name, group = ctx.physical_name(), ctx.inputs.get("autoscalingGroupName") or "group"
    arn = _arn(ctx, "autoscaling", f"scalingPolicy:{stable_uuid(ctx.typ, name)}:autoScalingGroupName/{group}"
                                   f":policyName/{name}")
    return {"id": name, "name": name, "arn": arn}


def _lambda_function(ctx: MockContext) -> Outputs:
    name = ctx.physical_name()
    arn = _arn(ctx, "lambda", f"function:{name}")
    invoke = f"arn:aws:apigateway:{ctx.aws_region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    return {"id": name, "name": name, "arn": arn, "invokeArn": invoke, "qualifiedArn": f"{arn}:$LATEST", "version": "$LATEST"}


def _log_group(ctx: MockContext) -> Outputs:
    name = ctx.physical_name()
    return {"id": name, "name": name, "arn": _arn(ctx, "logs", f"log-group:{name}")}


def _secret(ctx: MockContext) -> Outputs:
    name = ctx.physical_name()
    arn = _arn(ctx, "secretsmanager", f"secret:{name}-{ctx.hex(6, 'suffix')}")
    return {"id": arn, "arn": arn, "name": name}


def generic(ctx: MockContext) -> Outputs:
    """Fallback for AWS types without an entry: an id and an ARN in the type's service namespace."""
    service = ctx.typ.split(":")[1].split("/")[0]
    kind = ctx.typ.rsplit(":", 1)[-1].lower()
    ident = f"{ctx.name}-{ctx.hex(8)}"
    return {"id": ident, "arn": _arn(ctx, service, f"{kind}/{ident}")}


# Type token -> computed outputs. Add a type with one line here.
AWS_OUTPUTS: dict[str, Callable[[MockContext], Outputs]] = {
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _subnet,
    "aws:ec2/securityGroup:SecurityGroup": _ec2("sg", "security-group"),
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:ec2/capacityReservation:CapacityReservation": _ec2("cr", "capacity-reservation"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("igw", "internet-gateway"),
    "aws:ec2/natGateway:NatGateway": _ec2("nat", "natgateway"),
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/eip:Eip": _eip,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
    "aws:iam/role:Role": _iam("role", "AROA"),
    "aws:iam/instanceProfile:InstanceProfile": _iam("instance-profile", "AIPA"),
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": _target_group,
    "aws:autoscaling/group:Group": _autoscaling_group,
    "aws:autoscaling/policy:Policy": _scaling_policy,
    "aws:lambda/function:Function": _lambda_function,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:ec2/capacityBlockReservation:CapacityBlockReservation": _ec2("cr", "capacity-reservation"),
}
