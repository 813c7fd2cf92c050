"""Idle-GPU watchdog of one region: a scheduled Lambda stopping AutoShutdown=true instances whose GPUs idle."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.plan.watchdog import WatchdogPlan

HANDLER = Path(__file__).resolve().parents[2] / "scripts" / "idle_watchdog.py"


@dataclass(frozen=True)
class IdleWatchdogArgs:
    """The region's planned watchdog (``components.plan.watchdog``)."""

    plan: WatchdogPlan


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

    The plan has none in prod (or when disabled): prod instances are never tagged AutoShutdown=true.

    Attributes:
        function_name: The Lambda's name.
    """

    function_name: pulumi.Output[str]

    def __init__(self, name: str, args: IdleWatchdogArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpuinfra:aws:IdleWatchdog", name, None, opts)
        self._plan, self._name = args.plan, name
        logs = self._create_log_group()
        role = self._create_role(logs)
        function = self._create_function(role, logs)
        self._create_schedule(function)
        self.function_name = function.name
        self.register_outputs({"function_name": self.function_name})

    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)

    def _tags(self) -> dict[str, str]:
        return dict(self._plan.tags)

    def _create_log_group(self) -> aws.cloudwatch.LogGroup:
        return aws.cloudwatch.LogGroup(
            f"{self._name}-logs", name=self._plan.log_group_name, retention_in_days=self._plan.log_retention_days,
            tags=self._tags(), opts=self._child())

    def _create_role(self, logs: aws.cloudwatch.LogGroup) -> aws.iam.Role:
        assume = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": "lambda.amazonaws.com"}}]}
        role = aws.iam.Role(f"{self._name}-role", assume_role_policy=json.dumps(assume), tags=self._tags(),
                            opts=self._child())
        aws.iam.RolePolicy(f"{self._name}-policy", role=role.id,
                           policy=logs.arn.apply(lambda arn: json.dumps(_policy(self._plan.region, arn))),
                           opts=self._child())
        return role

    def _create_function(self, role: aws.iam.Role, logs: aws.cloudwatch.LogGroup) -> aws.lambda_.Function:
        env = dict(self._plan.environment)
        return aws.lambda_.Function(
            f"{self._name}-fn",
            runtime="python3.12", handler="idle_watchdog.handler", role=role.arn,
            code=pulumi.AssetArchive({"idle_watchdog.py": pulumi.FileAsset(str(HANDLER))}),
            timeout=300, memory_size=256,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=env),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=logs.name),
            tags=self._tags(), opts=self._child())

    def _create_schedule(self, function: aws.lambda_.Function) -> None:
        rule = aws.cloudwatch.EventRule(f"{self._name}-schedule", schedule_expression=self._plan.schedule_expression,
                                        tags=self._tags(),
                                        opts=self._child())
        aws.cloudwatch.EventTarget(f"{self._name}-target", rule=rule.name, arn=function.arn, opts=self._child())
        aws.lambda_.Permission(f"{self._name}-invoke", action="lambda:InvokeFunction", function=function.name,
                               principal="events.amazonaws.com", source_arn=rule.arn, opts=self._child())
