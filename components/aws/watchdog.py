"""Idle-GPU watchdog of one region: a scheduled Lambda stopping AutoShutdown=true instances whose GPUs idle."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.aws.vm_fleet import region_model_tag
from components.plan.bootstrap import METRIC_NAME, METRICS_NAMESPACE
from components.plan.tags import cost_tags
from components.spec import StackSpec

HANDLER = Path(__file__).resolve().parents[2] / "scripts" / "idle_watchdog.py"


@dataclass(frozen=True)
class IdleWatchdogArgs:
    """The stack (``aws.idle_watchdog`` settings) and the region whose instances to watch."""

    spec: StackSpec
    region: str


def watchdog_wanted(spec: StackSpec) -> bool:
    """True when the stack gets watchdogs: enabled, and not prod (prod instances carry no AutoShutdown tag)."""
    return bool(spec.aws and spec.aws.idle_watchdog.enabled and spec.environment != "prod")


def _policy(region: str, log_group_arn: str) -> dict:
    """Least privilege: read anything it must judge, act only on resources tagged AutoShutdown=true."""
    tagged = {"StringEquals": {"aws:ResourceTag/AutoShutdown": "true"}}
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Describe", "Effect": "Allow", "Resource": "*",
         "Action": ["ec2:DescribeInstances", "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeAutoScalingGroups", "cloudwatch:GetMetricData"]},
        {"Sid": "StopTagged", "Effect": "Allow", "Action": "ec2:StopInstances",
         "Resource": f"arn:aws:ec2:{region}:*:instance/*", "Condition": tagged},
        {"Sid": "ScaleInTagged", "Effect": "Allow", "Action": "autoscaling:TerminateInstanceInAutoScalingGroup",
         "Resource": f"arn:aws:autoscaling:{region}:*:autoScalingGroup:*:autoScalingGroupName/*", "Condition": tagged},
        {"Sid": "OwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{log_group_arn}:*"},
    ]}


class IdleWatchdog(pulumi.ComponentResource):
    """EventBridge schedule -> Lambda (``scripts/idle_watchdog.py``) with its role and log group.

    In prod (or when disabled) it creates nothing: prod instances are never tagged AutoShutdown=true.

    Attributes:
        function_name: The Lambda's name (None when nothing was created).
    """

    function_name: pulumi.Output[str] | None

    def __init__(self, name: str, args: IdleWatchdogArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpuinfra:aws:IdleWatchdog", name, None, opts)
        self._args, self._name = args, name
        self.function_name = None
        if watchdog_wanted(args.spec):
            logs = self._create_log_group()
            role = self._create_role(logs)
            function = self._create_function(role, logs)
            self._create_schedule(function)
            self.function_name = function.name
        self.register_outputs({"function_name": self.function_name})

    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)

    def _tags(self) -> dict[str, str]:
        return cost_tags(self._args.spec, model=region_model_tag(self._args.spec, self._args.region), auto_shutdown=True)

    def _create_log_group(self) -> aws.cloudwatch.LogGroup:
        spec = self._args.spec
        return aws.cloudwatch.LogGroup(
            f"{self._name}-logs", name=f"/gpuinfra/{spec.environment}/idle-watchdog-{self._args.region}",
            retention_in_days=spec.aws.log_retention_days, tags=self._tags(), opts=self._child())

    def _create_role(self, logs: aws.cloudwatch.LogGroup) -> aws.iam.Role:
        assume = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": "lambda.amazonaws.com"}}]}
        role = aws.iam.Role(f"{self._name}-role", assume_role_policy=json.dumps(assume), tags=self._tags(),
                            opts=self._child())
        aws.iam.RolePolicy(f"{self._name}-policy", role=role.id,
                           policy=logs.arn.apply(lambda arn: json.dumps(_policy(self._args.region, arn))),
                           opts=self._child())
        return role

    def _create_function(self, role: aws.iam.Role, logs: aws.cloudwatch.LogGroup) -> aws.lambda_.Function:
        cfg = self._args.spec.aws.idle_watchdog
        env = {"IDLE_THRESHOLD_PCT": str(cfg.idle_threshold_pct), "IDLE_MINUTES": str(cfg.idle_minutes),
               "GRACE_MINUTES": str(cfg.grace_minutes), "DRY_RUN": "true" if cfg.dry_run else "false",
               "METRIC_NAMESPACE": METRICS_NAMESPACE, "METRIC_NAME": METRIC_NAME}
        return aws.lambda_.Function(
            f"{self._name}-fn",
            runtime="python3.12", handler="idle_watchdog.handler", role=role.arn,
            code=pulumi.AssetArchive({"idle_watchdog.py": pulumi.FileAsset(str(HANDLER))}),
            timeout=300, memory_size=256,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=env),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=logs.name),
            tags=self._tags(), opts=self._child())

    def _create_schedule(self, function: aws.lambda_.Function) -> None:
        minutes = self._args.spec.aws.idle_watchdog.schedule_minutes
        rate = "rate(1 minute)" if minutes == 1 else f"rate({minutes} minutes)"
        rule = aws.cloudwatch.EventRule(f"{self._name}-schedule", schedule_expression=rate, tags=self._tags(),
                                        opts=self._child())
        aws.cloudwatch.EventTarget(f"{self._name}-target", rule=rule.name, arn=function.arn, opts=self._child())
        aws.lambda_.Permission(f"{self._name}-invoke", action="lambda:InvokeFunction", function=function.name,
                               principal="events.amazonaws.com", source_arn=rule.arn, opts=self._child())
