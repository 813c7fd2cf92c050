"""Idle-GPU watchdog (AWS Lambda handler): stop or scale in AutoShutdown=true instances whose GPUs stay idle.

Plain boto3, no Pulumi: packaged as-is by ``components/aws/watchdog.py`` and importable by tests.
Settings come from environment variables (see ``Settings.from_env``); ``ENDPOINT_URL`` points every client
at another endpoint (a moto server in tests).
"""
from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import boto3
from botocore.config import Config

TAG_KEY, TAG_VALUE = "AutoShutdown", "true"
#: GetMetricData takes at most 500 queries per call; DescribeAutoScalingInstances at most 50 ids.
METRIC_BATCH, ASG_BATCH = 500, 50
PERIOD_SECONDS = 60  # the instances publish one datapoint a minute


@dataclass(frozen=True)
class Settings:
    """What the watchdog judges by (from the Lambda's environment)."""

    threshold_pct: float
    idle_minutes: int
    grace_minutes: int
    dry_run: bool
    namespace: str = "gpuinfra/GPU"
    metric: str = "GPUUtilization"
    page_size: int | None = None
    endpoint_url: str | None = None

    @staticmethod
    def from_env(env: Mapping[str, str] = os.environ) -> "Settings":
        """Read IDLE_THRESHOLD_PCT, IDLE_MINUTES, GRACE_MINUTES, DRY_RUN, METRIC_NAMESPACE, METRIC_NAME,
        PAGE_SIZE and ENDPOINT_URL."""
        page = env.get("PAGE_SIZE")
        return Settings(
            threshold_pct=float(env.get("IDLE_THRESHOLD_PCT", "10")), idle_minutes=int(env.get("IDLE_MINUTES", "60")),
            grace_minutes=int(env.get("GRACE_MINUTES", "30")), dry_run=env.get("DRY_RUN", "false").lower() == "true",
            namespace=env.get("METRIC_NAMESPACE", "gpuinfra/GPU"), metric=env.get("METRIC_NAME", "GPUUtilization"),
            page_size=int(page) if page else None, endpoint_url=env.get("ENDPOINT_URL") or None)


@dataclass(frozen=True)
class Decision:
    """The verdict on one instance, logged as one JSON line."""

    instance_id: str
    idle: bool
    reason: str
    age_minutes: float
    max_util_pct: float | None
    datapoints: int
    group: str | None = None
    action: str = "none"


def make_clients(settings: Settings) -> dict[str, Any]:
    """EC2, CloudWatch and Auto Scaling clients with adaptive retries (throttling backs off, up to 10 tries)."""
    config = Config(retries={"mode": "adaptive", "max_attempts": 10})
    return {name: boto3.client(name, endpoint_url=settings.endpoint_url, config=config)
            for name in ("ec2", "cloudwatch", "autoscaling")}


def tagged_instances(ec2: Any, page_size: int | None = None) -> list[dict]:
    """Running instances tagged AutoShutdown=true, every page (the tag is checked again, never assumed)."""
    filters = [{"Name": f"tag:{TAG_KEY}", "Values": [TAG_VALUE]}, {"Name": "instance-state-name", "Values": ["running"]}]
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=filters, PaginationConfig={"PageSize": page_size} if page_size else {})
    found = [i for page in pages for r in page["Reservations"] for i in r["Instances"]]
    return [i for i in found if {t["Key"]: t["Value"] for t in i.get("Tags", [])}.get(TAG_KEY) == TAG_VALUE]


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def utilisation(cw: Any, settings: Settings, ids: list[str], start: dt.datetime, end: dt.datetime) -> dict[str, list[float]]:
    """Per instance, the GPU utilisation datapoints between start and end (batched, every NextToken page)."""
    out: dict[str, list[float]] = {i: [] for i in ids}
    for batch in _chunks(ids, METRIC_BATCH):
        queries = [{"Id": f"m{n}", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": settings.namespace, "MetricName": settings.metric,
                       "Dimensions": [{"Name": "InstanceId", "Value": iid}]},
            "Period": PERIOD_SECONDS, "Stat": "Maximum"}} for n, iid in enumerate(batch)]
        kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
        while True:
            page = cw.get_metric_data(**kwargs)
            for result in page["MetricDataResults"]:
                out[batch[int(result["Id"][1:])]].extend(result.get("Values", []))
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    return out


def decide(instance: dict, values: list[float], now: dt.datetime, settings: Settings) -> Decision:
    """Idle = every datapoint of the last ``idle_minutes`` under the threshold on an instance at least that old;
    no datapoint at all counts as idle only once ``grace_minutes`` have passed since launch."""
    age = (now - instance["LaunchTime"]).total_seconds() / 60
    iid, peak = instance["InstanceId"], max(values) if values else None
    base = {"instance_id": iid, "age_minutes": round(age, 1), "max_util_pct": peak, "datapoints": len(values)}
    if not values:
        if age >= settings.grace_minutes:
            return Decision(idle=True, reason=f"no {settings.metric} datapoint after the {settings.grace_minutes} min grace", **base)
        return Decision(idle=False, reason=f"no datapoint yet, within the {settings.grace_minutes} min grace", **base)
    if age < settings.idle_minutes:
        return Decision(idle=False, reason=f"younger than the {settings.idle_minutes} min idle window", **base)
    if peak >= settings.threshold_pct:
        return Decision(idle=False, reason=f"busy: peak {peak:g}% >= {settings.threshold_pct:g}%", **base)
    return Decision(idle=True, reason=f"peak {peak:g}% < {settings.threshold_pct:g}% for {settings.idle_minutes} min", **base)


def group_of(asg: Any, ids: list[str]) -> dict[str, str]:
    """Instance id -> Auto Scaling group name, for the instances that belong to one."""
    out: dict[str, str] = {}
    for batch in _chunks(ids, ASG_BATCH):
        for page in asg.get_paginator("describe_auto_scaling_instances").paginate(InstanceIds=batch):
            out.update({i["InstanceId"]: i["AutoScalingGroupName"] for i in page["AutoScalingInstances"]})
    return out


def _headroom(asg: Any, groups: set[str]) -> dict[str, int]:
    """Per group, how many instances may go before desired capacity would drop below the minimum."""
    out: dict[str, int] = {}
    for page in asg.get_paginator("describe_auto_scaling_groups").paginate(AutoScalingGroupNames=sorted(groups)):
        for g in page["AutoScalingGroups"]:
            out[g["AutoScalingGroupName"]] = max(0, g["DesiredCapacity"] - g["MinSize"])
    return out


def act(idle: list[Decision], clients: Mapping[str, Any], settings: Settings) -> list[Decision]:
    """Stop idle standalone instances; terminate idle group members with a capacity decrement while the
    group's minimum allows it (stopping a member would only make the group replace it)."""
    groups = group_of(clients["autoscaling"], [d.instance_id for d in idle])
    headroom = _headroom(clients["autoscaling"], set(groups.values())) if groups else {}
    verb = "would-" if settings.dry_run else ""
    done, stop = [], []
    for d in sorted(idle, key=lambda x: x.instance_id):
        group = groups.get(d.instance_id)
        if group is None:
            stop.append(d.instance_id)
            done.append(replace(d, action=f"{verb}stop"))
        elif headroom.get(group, 0) <= 0:
            done.append(replace(d, group=group, action="skip", reason=f"{d.reason}; group {group} is at its minimum size"))
        else:
            headroom[group] -= 1
            if not settings.dry_run:
                clients["autoscaling"].terminate_instance_in_auto_scaling_group(
                    InstanceId=d.instance_id, ShouldDecrementDesiredCapacity=True)
            done.append(replace(d, group=group, action=f"{verb}terminate-in-group"))
    if stop and not settings.dry_run:
        for batch in _chunks(stop, 100):
            clients["ec2"].stop_instances(InstanceIds=batch)
    return done


def run(settings: Settings, clients: Mapping[str, Any] | None = None, now: dt.datetime | None = None) -> dict:
    """One watchdog pass: judge every tagged running instance, act on the idle ones, log every decision.

    Returns:
        Counts of instances seen, idle, acted on (or that would be, in dry run) and skipped.
    """
    clients = clients or make_clients(settings)
    now = now or dt.datetime.now(dt.timezone.utc)
    instances = tagged_instances(clients["ec2"], settings.page_size)
    start = now - dt.timedelta(minutes=settings.idle_minutes)
    series = utilisation(clients["cloudwatch"], settings, [i["InstanceId"] for i in instances], start, now)
    decisions = [decide(i, series[i["InstanceId"]], now, settings) for i in instances]
    acted = act([d for d in decisions if d.idle], clients, settings)
    final = {d.instance_id: d for d in decisions} | {d.instance_id: d for d in acted}
    for d in final.values():
        print(json.dumps({"watchdog": "idle-gpu", "dry_run": settings.dry_run, **asdict(d)}, sort_keys=True))
    return {"seen": len(instances), "idle": len(acted), "skipped": sum(d.action == "skip" for d in acted),
            "acted": sum(d.action not in ("skip", "none") for d in acted), "dry_run": settings.dry_run}


def handler(event: dict, context: Any) -> dict:
    """Lambda entry point (EventBridge schedule)."""
    return run(Settings.from_env())
