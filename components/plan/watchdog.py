"""The idle-GPU watchdog of each AWS region, planned once: whether it exists, its schedule, settings and tags."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.plan.bootstrap import METRIC_NAME, METRICS_NAMESPACE
from components.plan.tags import cost_tags, region_model_tag
from components.spec import StackSpec


@dataclass(frozen=True)
class WatchdogPlan:
    """What ``components.aws.watchdog`` renders for one region.

    Attributes:
        region: The region whose AutoShutdown=true instances the Lambda judges.
        log_group_name: CloudWatch log group of the function.
        log_retention_days: Retention of that log group (``aws.log_retention_days``).
        schedule_expression: EventBridge ``rate(...)`` expression (``aws.idle_watchdog.schedule_minutes``).
        environment: The Lambda's environment variables (thresholds, dry run, the metric it reads).
        tags: Cost tags, with ``AutoShutdown=true`` so its own resources fall under its tag-scoped policy.
    """

    region: str
    log_group_name: str
    log_retention_days: int
    schedule_expression: str
    environment: Mapping[str, str]
    tags: Mapping[str, str]


def plan_watchdogs(spec: StackSpec, regions: tuple[str, ...]) -> Mapping[str, WatchdogPlan]:
    """One watchdog per region with AWS GPU pools, outside prod and when enabled (prod instances carry no
    AutoShutdown tag, so a prod watchdog would have nothing to act on)."""
    assert spec.aws is not None
    cfg = spec.aws.idle_watchdog
    if not cfg.enabled or spec.environment == "prod":
        return {}
    minutes = cfg.schedule_minutes
    env = {"IDLE_THRESHOLD_PCT": str(cfg.idle_threshold_pct), "IDLE_MINUTES": str(cfg.idle_minutes),
           "GRACE_MINUTES": str(cfg.grace_minutes), "DRY_RUN": "true" if cfg.dry_run else "false",
           "METRIC_NAMESPACE": METRICS_NAMESPACE, "METRIC_NAME": METRIC_NAME}
    return {region: WatchdogPlan(
        region=region, log_group_name=f"/gpuinfra/{spec.environment}/idle-watchdog-{region}",
        log_retention_days=spec.aws.log_retention_days,
        schedule_expression="rate(1 minute)" if minutes == 1 else f"rate({minutes} minutes)",
        environment=env, tags=cost_tags(spec, model=region_model_tag(spec, region), auto_shutdown=True))
        for region in regions if any(spec.pool_region("aws", p) == region for p in spec.aws.gpu_pools)}
