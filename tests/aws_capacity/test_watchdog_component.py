"""The idle-GPU watchdog as deployed: only outside prod, scheduled, least privilege on AutoShutdown-tagged resources."""
from __future__ import annotations

import json

from tests.aws_capacity.test_vm_fleet import _list


def test_prod_gets_no_watchdog_and_staging_gets_one(staging, prod_vm):
    assert not prod_vm.of_type("aws:lambda/function:Function")
    assert len(staging.of_type("aws:lambda/function:Function")) == 1


def test_watchdog_lambda_is_scheduled_with_the_stack_settings_and_least_privilege(staging):
    from components.aws.watchdog import HANDLER

    cfg = staging.spec.aws.idle_watchdog
    (fn,) = staging.of_type("aws:lambda/function:Function")
    assert HANDLER.name == "idle_watchdog.py" and HANDLER.exists()
    assert (fn.inputs["runtime"], fn.inputs["handler"]) == ("python3.12", "idle_watchdog.handler")
    env = fn.inputs["environment"]["variables"]
    assert (float(env["IDLE_THRESHOLD_PCT"]), int(env["IDLE_MINUTES"]), int(env["GRACE_MINUTES"])) == \
        (cfg.idle_threshold_pct, cfg.idle_minutes, cfg.grace_minutes)
    assert env["DRY_RUN"] == str(cfg.dry_run).lower()
    (logs,) = staging.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["retentionInDays"] == staging.spec.aws.log_retention_days
    assert fn.inputs["loggingConfig"]["logGroup"] == logs.outputs["name"]
    (rule,) = staging.of_type("aws:cloudwatch/eventRule:EventRule")
    assert rule.inputs["scheduleExpression"] == f"rate({cfg.schedule_minutes} minutes)"
    (permission,) = staging.of_type("aws:lambda/permission:Permission")
    assert permission.inputs["principal"] == "events.amazonaws.com" and permission.inputs["sourceArn"] == rule.outputs["arn"]
    (policy,) = [r for r in staging.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.startswith("idle-watchdog")]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    acting = [s for s in statements if {"ec2:StopInstances", "autoscaling:TerminateInstanceInAutoScalingGroup"}
              & set(_list(s["Action"]))]
    assert len(acting) == 2
    assert all(s["Condition"] == {"StringEquals": {"aws:ResourceTag/AutoShutdown": "true"}} for s in acting)
    logs_statement = next(s for s in statements if "logs:PutLogEvents" in _list(s["Action"]))
    assert logs_statement["Resource"] == f"{logs.outputs['arn']}:*"
