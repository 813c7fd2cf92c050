"""The idle-GPU watchdog is planned once per AWS region with GPU pools, never in prod (issue 16 item 2: the component
renders this slice and no longer reads ``aws.idle_watchdog`` from the spec)."""
from __future__ import annotations

import copy

from components.plan.stack import plan_stack
from components.spec import load_stack_spec
from tests.conftest import encode, raw_stack


def _plan(raw: dict):
    return plan_stack(load_stack_spec(*encode(copy.deepcopy(raw))))


def test_prod_plans_no_watchdog_and_staging_one_per_pool_region():
    assert _plan(raw_stack("prod")).aws.watchdogs == {}
    staging = _plan(raw_stack("staging"))
    assert set(staging.aws.watchdogs) == set(staging.basis.spec.pool_regions("aws"))


def test_a_bucket_only_region_gets_no_watchdog():
    raw = raw_stack("staging")
    aws = raw["gpuinfra:aws"]
    aws["region"] = "us-west-2"  # the bucket's region; the pools stay in the provider region
    for pool in aws["gpu_pools"]:
        pool["region"] = "us-east-2"
    plan = _plan(raw)
    assert plan.aws.regions[0] == "us-west-2" and "us-west-2" not in plan.aws.watchdogs
    assert set(plan.aws.watchdogs) == {"us-east-2"}


def test_the_watchdog_follows_its_settings_and_tags_itself_for_its_own_policy():
    raw = raw_stack("staging")
    raw["gpuinfra:aws"]["idle_watchdog"] = {"schedule_minutes": 1, "dry_run": True, "idle_minutes": 90}
    (planned,) = _plan(raw).aws.watchdogs.values()
    assert planned.schedule_expression == "rate(1 minute)"  # EventBridge: singular unit for a value of 1
    assert planned.environment["DRY_RUN"] == "true" and planned.environment["IDLE_MINUTES"] == "90"
    assert planned.tags["AutoShutdown"] == "true"
    raw["gpuinfra:aws"]["idle_watchdog"] = {"enabled": False}
    assert _plan(raw).aws.watchdogs == {}
