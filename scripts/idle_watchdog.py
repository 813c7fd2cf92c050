"""Idle-GPU watchdog (AWS Lambda handler): stop or scale in AutoShutdown=true instances whose GPUs stay idle.

Plain boto3, no Pulumi: packaged as-is by ``components/aws/watchdog.py`` and importable by tests.
Settings come from environment variables (see ``Settings.from_env``); ``ENDPOINT_URL`` points every client
at another endpoint (a moto server in tests).

The watchdog is for VM-mode fleets and standalone instances only: instances that belong to an EKS cluster
(managed node group, Karpenter, or any ``kubernetes.io/cluster/<name>`` tag) are skipped and logged, because the
cluster autoscaler owns their lifecycle. Every decision is logged as one JSON line when it is taken; a failing
instance is logged and the run goes on; failures are reported at the end (the handler raises so the invocation
counts as an error; ``python scripts/idle_watchdog.py`` exits 1). Bad settings: one line, exit 2.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

TAG_KEY, TAG_VALUE = "AutoShutdown", "true"
#: GetMetricData takes at most 500 queries per call; DescribeAutoScalingInstances at most 50 ids.
METRIC_BATCH, ASG_BATCH = 500, 50
PERIOD_SECONDS = 60  # the instances publish one datapoint a minute
#: Tags that mark an EKS node. Managed node groups tag their Auto Scaling group (propagated to the instances)
#: with eks:cluster-name / eks:nodegroup-name and kubernetes.io/cluster/<name>=owned (EKS user guide, "Managed
#: node groups", resource tagging); Karpenter tags its instances eks:eks-cluster-name, karpenter.sh/nodepool and
#: kubernetes.io/cluster/<name> (aws/karpenter-provider-aws pkg/apis/v1 EKSClusterNameTagKey, cloudprovider getTags).
EKS_TAG_KEYS = ("eks:cluster-name", "eks:nodegroup-name", "eks:eks-cluster-name", "karpenter.sh/nodepool")
EKS_TAG_PREFIX = "kubernetes.io/cluster/"
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


class SettingsError(ValueError):
    """A bad environment setting (named key, bad value, what is allowed)."""


def parse_bool(key: str, value: str | None, default: bool = False) -> bool:
    """``1/true/yes/on`` -> True, ``0/false/no/off``/empty -> False (any case); anything else is refused.

    Raises:
        SettingsError: a value that is neither (a typo must not silently mean "act for real").
    """
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingsError(f"{key}: {value!r} is not a boolean (allowed: {', '.join(TRUE_WORDS)} or "
                        f"{', '.join(w for w in FALSE_WORDS if w)})")


def _number(env: Mapping[str, str], key: str, default: str, kind: type, low: float, high: float) -> Any:
    raw = env.get(key, default)
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise SettingsError(f"{key}: {raw!r} must be a {kind.__name__} from {low:g} to {high:g}")
    return value


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
    #: Share of the window's one-minute datapoints that must be present before "idle for the window" holds.
    min_coverage_pct: float = 90.0
    #: botocore attempts per call, first try included (Config retries total_max_attempts, botocore 1.44
    #: config.py), adaptive mode: bounds how long a throttled call is retried.
    max_attempts: int = 10

    @staticmethod
    def from_env(env: Mapping[str, str] = os.environ) -> "Settings":
        """Read IDLE_THRESHOLD_PCT, IDLE_MINUTES, GRACE_MINUTES, DRY_RUN, MIN_COVERAGE_PCT, MAX_ATTEMPTS,
        METRIC_NAMESPACE, METRIC_NAME, PAGE_SIZE and ENDPOINT_URL.

        Raises:
            SettingsError: a value out of range or not a number/boolean (message names the variable).
        """
        page = env.get("PAGE_SIZE")
        return Settings(
            threshold_pct=_number(env, "IDLE_THRESHOLD_PCT", "10", float, 0, 100),
            idle_minutes=_number(env, "IDLE_MINUTES", "60", int, 1, 1440),
            grace_minutes=_number(env, "GRACE_MINUTES", "30", int, 0, 1440),
            dry_run=parse_bool("DRY_RUN", env.get("DRY_RUN")),
            min_coverage_pct=_number(env, "MIN_COVERAGE_PCT", "90", float, 1, 100),
            max_attempts=_number(env, "MAX_ATTEMPTS", "10", int, 1, 20),
            namespace=env.get("METRIC_NAMESPACE", "gpuinfra/GPU"), metric=env.get("METRIC_NAME", "GPUUtilization"),
            page_size=_number(env, "PAGE_SIZE", "0", int, 5, 1000) if page else None,
            endpoint_url=env.get("ENDPOINT_URL") or None)


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
    coverage_pct: float | None = None
    error: str | None = None


def make_clients(settings: Settings) -> dict[str, Any]:
    """EC2, CloudWatch and Auto Scaling clients with adaptive retries (throttling backs off, at most
    ``max_attempts`` tries per call) and 5 s connect / 30 s read timeouts."""
    config = Config(retries={"mode": "adaptive", "total_max_attempts": settings.max_attempts}, connect_timeout=5,
                    read_timeout=30)
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


def eks_cluster(instance: dict) -> str | None:
    """The EKS cluster (or node group marker) an instance belongs to, None for VM-mode/standalone instances."""
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
    for key in EKS_TAG_KEYS:
        if key in tags:
            return f"{key}={tags[key]}"
    return next((key for key in tags if key.startswith(EKS_TAG_PREFIX)), None)


def decide(instance: dict, values: list[float], now: dt.datetime, settings: Settings) -> Decision:
    """Idle = the last ``idle_minutes`` are covered by datapoints (at least ``min_coverage_pct`` of the one-minute
    slots) and every one is under the threshold, on an instance at least that old. No datapoint at all (the
    instance never published) counts as idle only once ``grace_minutes`` have passed since launch; a partly
    silent window is not evidence of idleness and is left alone."""
    age = (now - instance["LaunchTime"]).total_seconds() / 60
    iid, peak = instance["InstanceId"], max(values) if values else None
    coverage = round(100.0 * min(len(values), settings.idle_minutes) / settings.idle_minutes, 1)
    base = {"instance_id": iid, "age_minutes": round(age, 1), "max_util_pct": peak, "datapoints": len(values),
            "coverage_pct": coverage}
    needed = math.ceil(settings.idle_minutes * settings.min_coverage_pct / 100)
    window = f"{len(values)}/{settings.idle_minutes} one-minute datapoints ({coverage:g}% of the window)"
    if not values:
        if age >= settings.grace_minutes:
            return Decision(idle=True, reason=f"no {settings.metric} datapoint in the window, "
                                              f"{settings.grace_minutes} min grace over", **base)
        return Decision(idle=False, reason=f"no datapoint yet, within the {settings.grace_minutes} min grace", **base)
    if age < settings.idle_minutes:
        return Decision(idle=False, reason=f"younger than the {settings.idle_minutes} min idle window", **base)
    if peak >= settings.threshold_pct:
        return Decision(idle=False, reason=f"busy: peak {peak:g}% >= {settings.threshold_pct:g}%", **base)
    if len(values) < needed:
        return Decision(idle=False, reason=f"not enough data: {window}, need {needed} "
                                           f"({settings.min_coverage_pct:g}%)", **base)
    return Decision(idle=True, reason=f"peak {peak:g}% < {settings.threshold_pct:g}% for {settings.idle_minutes} "
                                      f"min, {window}", **base)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{exc.operation_name}: {error.get('Code', '?')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def log(decision: Decision, settings: Settings) -> Decision:
    """Prints one JSON decision line (CloudWatch Logs keeps it) and returns the decision."""
    print(json.dumps({"watchdog": "idle-gpu", "dry_run": settings.dry_run, **asdict(decision)}, sort_keys=True),
          flush=True)
    return decision


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


def _stop(ec2: Any, pending: list[Decision], settings: Settings) -> list[Decision]:
    """Stops standalone instances (100 per call); when a batch fails, each instance is tried alone so one bad
    instance cannot hide the others. Returns the logged decisions."""
    out = []
    for batch in _chunks(pending, 100):
        if settings.dry_run:
            out += [log(replace(d, action="would-stop"), settings) for d in batch]
            continue
        try:
            ec2.stop_instances(InstanceIds=[d.instance_id for d in batch])
            out += [log(replace(d, action="stop"), settings) for d in batch]
            continue
        except (ClientError, BotoCoreError) as exc:
            if len(batch) == 1:
                out.append(log(replace(batch[0], action="stop-failed", error=_error_text(exc)), settings))
                continue
        for d in batch:
            try:
                ec2.stop_instances(InstanceIds=[d.instance_id])
                out.append(log(replace(d, action="stop"), settings))
            except (ClientError, BotoCoreError) as exc:
                out.append(log(replace(d, action="stop-failed", error=_error_text(exc)), settings))
    return out


def _terminate(asg: Any, d: Decision, group: str, settings: Settings) -> Decision:
    if settings.dry_run:
        return log(replace(d, group=group, action="would-terminate-in-group"), settings)
    try:
        asg.terminate_instance_in_auto_scaling_group(InstanceId=d.instance_id, ShouldDecrementDesiredCapacity=True)
    except (ClientError, BotoCoreError) as exc:
        return log(replace(d, group=group, action="terminate-failed", error=_error_text(exc)), settings)
    return log(replace(d, group=group, action="terminate-in-group"), settings)


def act(idle: list[Decision], clients: Mapping[str, Any], settings: Settings) -> list[Decision]:
    """Stop idle standalone instances; terminate idle group members with a capacity decrement while the
    group's minimum allows it (stopping a member would only make the group replace it). Each decision is
    logged when taken; a failed call is logged with its error and the others go on."""
    try:
        groups = group_of(clients["autoscaling"], [d.instance_id for d in idle])
        headroom = _headroom(clients["autoscaling"], set(groups.values())) if groups else {}
    except (ClientError, BotoCoreError) as exc:
        # Without group membership a stop could hit a group member (the group would replace it): act on none.
        return [log(replace(d, action="failed", error=f"reading Auto Scaling groups: {_error_text(exc)}"), settings)
                for d in sorted(idle, key=lambda x: x.instance_id)]
    done, stop = [], []
    for d in sorted(idle, key=lambda x: x.instance_id):
        group = groups.get(d.instance_id)
        if group is None:
            stop.append(d)
        elif headroom.get(group, 0) <= 0:
            done.append(log(replace(d, group=group, action="skip",
                                    reason=f"{d.reason}; group {group} is at its minimum size"), settings))
        else:
            headroom[group] -= 1
            done.append(_terminate(clients["autoscaling"], d, group, settings))
    return done + _stop(clients["ec2"], stop, settings)


FAILED = ("stop-failed", "terminate-failed", "failed")


def run(settings: Settings, clients: Mapping[str, Any] | None = None, now: dt.datetime | None = None) -> dict:
    """One watchdog pass: judge every tagged running instance, act on the idle ones, log every decision.

    EKS nodes are skipped (logged with action "skip-eks"). Listing instances or reading metrics failing ends
    the pass (nothing can be judged); a failure on one instance is logged and the pass goes on.

    Returns:
        Counts of instances seen, idle, acted on (or that would be, in dry run), skipped and failed, plus the
        failed instance ids.
    """
    clients = clients or make_clients(settings)
    now = now or dt.datetime.now(dt.timezone.utc)
    instances, eks = [], 0
    for instance in tagged_instances(clients["ec2"], settings.page_size):
        cluster = eks_cluster(instance)
        if cluster is None:
            instances.append(instance)
            continue
        eks += 1
        log(Decision(instance["InstanceId"], idle=False, age_minutes=round(
            (now - instance["LaunchTime"]).total_seconds() / 60, 1), max_util_pct=None, datapoints=0,
            action="skip-eks", reason=f"EKS node ({cluster}): the cluster autoscaler scales it, not this "
                                      "watchdog"), settings)
    start = now - dt.timedelta(minutes=settings.idle_minutes)
    series = utilisation(clients["cloudwatch"], settings, [i["InstanceId"] for i in instances], start, now)
    decisions = [decide(i, series[i["InstanceId"]], now, settings) for i in instances]
    for d in decisions:
        if not d.idle:
            log(d, settings)
    acted = act([d for d in decisions if d.idle], clients, settings)
    failed = sorted(d.instance_id for d in acted if d.action in FAILED)
    return {"seen": len(instances) + eks, "idle": len(acted), "skipped": sum(d.action == "skip" for d in acted),
            "skipped_eks": eks, "acted": sum(d.action not in ("skip", "none", *FAILED) for d in acted),
            "failed": failed, "dry_run": settings.dry_run}


class WatchdogFailures(RuntimeError):
    """Raised by the Lambda handler after a pass in which some instances could not be stopped/terminated."""


def handler(event: dict, context: Any) -> dict:
    """Lambda entry point (EventBridge schedule); raises WatchdogFailures after logging every decision when
    some instance failed, so the invocation counts as an error (Lambda ``Errors`` metric)."""
    summary = run(Settings.from_env())
    print(json.dumps({"watchdog": "idle-gpu", "summary": summary}, sort_keys=True), flush=True)
    if summary["failed"]:
        raise WatchdogFailures(f"{len(summary['failed'])} instance(s) failed: {', '.join(summary['failed'])}")
    return summary


def main(env: Mapping[str, str] = os.environ) -> int:
    """One pass from a shell with the same settings. Exit codes: 0 ok, 1 some instance failed or an AWS call
    failed after its retries, 2 bad setting, 3 internal error (please report)."""
    try:
        settings = Settings.from_env(env)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        summary = run(settings)
    except (ClientError, BotoCoreError) as exc:
        print(f"error: {_error_text(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - anything else is a bug: one line, exit 3
        print(f"error: internal error, please report: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    print(json.dumps({"watchdog": "idle-gpu", "summary": summary}, sort_keys=True))
    if summary["failed"]:
        print(f"error: {len(summary['failed'])} instance(s) failed: {', '.join(summary['failed'])}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
