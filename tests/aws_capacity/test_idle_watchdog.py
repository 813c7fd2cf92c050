"""The idle-GPU watchdog handler against a real moto server on 127.0.0.1 (HTTP, paging, throttling)."""
from __future__ import annotations

import datetime as dt
import http.client
import importlib.util
import json
import socket
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from moto.server import ThreadedMotoServer

from tests.conftest import ROOT

REGION = "us-east-1"
NAMESPACE, METRIC = "gpuinfra/GPU", "GPUUtilization"
TAG = {"Key": "AutoShutdown", "Value": "true"}
#: An AMI moto ships (its default image list; listing them all costs seconds per call).
AMI = "ami-12c6146b"


def _load_handler():
    spec = importlib.util.spec_from_file_location("idle_watchdog", ROOT / "scripts" / "idle_watchdog.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["idle_watchdog"] = module
    spec.loader.exec_module(module)
    return module


wd = _load_handler()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrottlingProxy(ThreadingHTTPServer):
    """Forwards every request to moto, but first answers ``throttle[action]`` requests with a throttling error
    (real HTTP 400/503 responses botocore must retry). Counts requests per action."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port, self.throttle, self.calls = upstream_port, Counter(), Counter()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", _free_port()), _ProxyHandler)


class _ProxyHandler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        target = self.headers.get("X-Amz-Target", "")
        action = target.rsplit(".", 1)[-1] or parse_qs(body.decode(errors="ignore")).get("Action", ["?"])[0]
        server: ThrottlingProxy = self.server  # type: ignore[assignment]
        with server.lock:
            server.calls[action] += 1
            throttled = server.throttle[action] > 0
            server.throttle[action] -= throttled
        if throttled:
            error = (b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
                     b"</Message></Error></Errors><RequestID>throttled</RequestID></Response>")
            return self._reply(503, {"Content-Type": "text/xml"}, error)
        conn = http.client.HTTPConnection("127.0.0.1", server.upstream_port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        conn.request("POST", self.path, body=body, headers=headers)
        response = conn.getresponse()
        self._reply(response.status, dict(response.getheaders()), response.read())

    def _reply(self, status: int, headers: dict, body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def moto():
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    proxy = ThrottlingProxy(port)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    server.stop()


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    """Retries still happen (the proxy counts them); only the sleeps between them are shortened."""
    import botocore.retries.adaptive as adaptive
    import botocore.retries.standard as standard
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.01)
    monkeypatch.setattr(adaptive.ClientRateLimiter, "on_sending_request", lambda self, request, **kwargs: None)


@pytest.fixture
def aws(moto, monkeypatch):
    """Fresh moto state, credentials for the test, and clients speaking to the proxy."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    conn = http.client.HTTPConnection("127.0.0.1", moto.upstream_port)
    conn.request("POST", "/moto-api/reset")
    assert conn.getresponse().status == 200
    moto.throttle.clear()
    moto.calls.clear()
    url = f"http://127.0.0.1:{moto.server_address[1]}"
    settings = wd.Settings(threshold_pct=10, idle_minutes=60, grace_minutes=30, dry_run=False, endpoint_url=url,
                           page_size=10)
    # Fixtures are set up straight against moto; the handler's own clients go through the throttling proxy.
    direct = wd.make_clients(wd.Settings(**{**settings.__dict__, "endpoint_url": f"http://127.0.0.1:{moto.upstream_port}"}))
    return settings, wd.make_clients(settings), moto, direct


def _launch(clients, count: int, tagged: bool = True, per_reservation: int = 1) -> list[str]:
    """``count`` instances in reservations of ``per_reservation`` (moto pages DescribeInstances by reservation)."""
    ec2 = clients["ec2"]
    tags = [{"ResourceType": "instance", "Tags": [TAG]}] if tagged else []
    return [i["InstanceId"] for _ in range(count // per_reservation) for i in ec2.run_instances(
        ImageId=AMI, MinCount=per_reservation, MaxCount=per_reservation, TagSpecifications=tags)["Instances"]]


def _publish(clients, instance_id: str, values: list[float], now: dt.datetime, every: int = 1) -> None:
    """One datapoint per ``every`` minutes going back from now (the instances publish one a minute)."""
    data = [{"MetricName": METRIC, "Dimensions": [{"Name": "InstanceId", "Value": instance_id}], "Unit": "Percent",
             "Timestamp": now - dt.timedelta(minutes=every * n, seconds=30), "Value": v} for n, v in enumerate(values)]
    for start in range(0, len(data), 20):  # PutMetricData takes 20 datums per call in older API versions
        clients["cloudwatch"].put_metric_data(Namespace=NAMESPACE, MetricData=data[start:start + 20])


def _window(low: float = 1.0, peak: float | None = None, minutes: int = 60) -> list[float]:
    """A full window of low utilisation, with an optional peak in the middle."""
    values = [low] * minutes
    if peak is not None:
        values[minutes // 2] = peak
    return values


def _states(clients, ids: list[str]) -> dict[str, str]:
    pages = clients["ec2"].get_paginator("describe_instances").paginate(InstanceIds=ids)
    return {i["InstanceId"]: i["State"]["Name"] for p in pages for r in p["Reservations"] for i in r["Instances"]}


def _launched(clients, instance_id: str) -> dt.datetime:
    return next(iter(clients["ec2"].describe_instances(InstanceIds=[instance_id])["Reservations"]))["Instances"][0]["LaunchTime"]


def test_pages_over_many_instances_and_never_touches_untagged(aws, monkeypatch, capsys):
    settings, handler_clients, proxy, clients = aws
    monkeypatch.setattr(wd, "METRIC_BATCH", 50)
    tagged, untagged = _launch(clients, 120, per_reservation=3), _launch(clients, 5, tagged=False)
    now = _launched(clients, tagged[0]) + dt.timedelta(hours=3)
    proxy.calls.clear()
    summary = wd.run(settings, handler_clients, now)
    assert summary == {"seen": 120, "idle": 120, "acted": 120, "skipped": 0, "skipped_eks": 0, "failed": [],
                       "dry_run": False}
    assert proxy.calls["DescribeInstances"] == 40 // 10  # every page: 40 tagged reservations, 10 per page
    assert proxy.calls["GetMetricData"] == 3  # 120 instances in batches of 50 queries
    states = _states(clients, tagged + untagged)
    assert {states[i] for i in tagged} <= {"stopping", "stopped"}
    assert {states[i] for i in untagged} == {"running"}
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(line["instance_id"] for line in lines) == sorted(tagged)
    assert {line["action"] for line in lines} == {"stop"}


def test_missing_metrics_count_as_idle_only_after_the_grace_period(aws):
    settings, handler_clients, _, clients = aws
    (young,) = _launch(clients, 1)
    launched = _launched(clients, young)
    assert wd.run(settings, handler_clients, launched + dt.timedelta(minutes=settings.grace_minutes - 5))["acted"] == 0
    assert _states(clients, [young])[young] == "running"
    assert wd.run(settings, handler_clients, launched + dt.timedelta(minutes=settings.grace_minutes + 5))["acted"] == 1
    assert _states(clients, [young])[young] in ("stopping", "stopped")


def test_busy_and_too_young_instances_keep_running(aws):
    settings, handler_clients, _, clients = aws
    idle, busy = _launch(clients, 2)
    now = _launched(clients, idle) + dt.timedelta(hours=3)
    _publish(clients, idle, _window(1.0, 9.9), now)
    _publish(clients, busy, _window(1.0, 55.0), now)
    assert wd.run(settings, handler_clients, now)["acted"] == 1
    states = _states(clients, [idle, busy])
    assert states[idle] in ("stopping", "stopped") and states[busy] == "running"
    # 30 minutes after launch, low datapoints do not cover the 60-minute idle window yet.
    (fresh,) = _launch(clients, 1)
    young_now = _launched(clients, fresh) + dt.timedelta(minutes=30)
    _publish(clients, fresh, [0.0, 0.0], young_now)
    decision = wd.decide({"InstanceId": fresh, "LaunchTime": _launched(clients, fresh)}, [0.0, 0.0], young_now, settings)
    assert not decision.idle and "idle window" in decision.reason


def test_dry_run_changes_nothing_and_logs_what_it_would_do(aws, capsys):
    settings, handler_clients, _, clients = aws
    ids = _launch(clients, 3)
    now = _launched(clients, ids[0]) + dt.timedelta(hours=3)
    summary = wd.run(wd.Settings(**{**settings.__dict__, "dry_run": True}), handler_clients, now)
    assert summary["acted"] == 3 and summary["dry_run"] is True
    assert set(_states(clients, ids).values()) == {"running"}
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {line["action"] for line in lines} == {"would-stop"} and all(line["dry_run"] for line in lines)


def test_group_members_are_terminated_with_decrement_down_to_the_group_minimum(aws, capsys):
    settings, handler_clients, _, clients = aws
    ec2, asg = clients["ec2"], clients["autoscaling"]
    ec2.create_launch_template(LaunchTemplateName="gpu-lt", LaunchTemplateData={"ImageId": AMI, "InstanceType": "g6e.xlarge"})
    asg.create_auto_scaling_group(
        AutoScalingGroupName="l40s-vm-fleet", LaunchTemplate={"LaunchTemplateName": "gpu-lt"}, MinSize=1, MaxSize=5,
        DesiredCapacity=3, AvailabilityZones=[f"{REGION}a"], Tags=[{**TAG, "PropagateAtLaunch": True}])
    members = [i["InstanceId"] for i in asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]["Instances"]]
    now = _launched(clients, members[0]) + dt.timedelta(hours=3)
    summary = wd.run(settings, handler_clients, now)
    assert (summary["acted"], summary["skipped"]) == (2, 1)
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["l40s-vm-fleet"])["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == group["MinSize"] == 1
    lines = {line["instance_id"]: line for line in map(json.loads, capsys.readouterr().out.splitlines())}
    assert sorted(line["action"] for line in lines.values()) == ["skip", "terminate-in-group", "terminate-in-group"]
    skipped = next(line for line in lines.values() if line["action"] == "skip")
    assert "minimum size" in skipped["reason"] and skipped["group"] == "l40s-vm-fleet"
    assert "stopped" not in set(_states(clients, members).values()), "a group member is never merely stopped"


def test_throttled_calls_are_retried_over_http(aws):
    settings, handler_clients, proxy, clients = aws
    ids = _launch(clients, 4)
    now = _launched(clients, ids[0]) + dt.timedelta(hours=3)
    proxy.calls.clear()
    proxy.throttle.update({"DescribeInstances": 1, "GetMetricData": 1, "StopInstances": 1})
    assert wd.run(settings, handler_clients, now)["acted"] == 4
    assert proxy.calls["DescribeInstances"] == 1 + 1 and proxy.calls["GetMetricData"] == 1 + 1
    assert proxy.calls["StopInstances"] == 1 + 1
    assert set(_states(clients, ids).values()) <= {"stopping", "stopped"}


def test_settings_come_from_the_lambda_environment():
    s = wd.Settings.from_env({"IDLE_THRESHOLD_PCT": "12.5", "IDLE_MINUTES": "45", "GRACE_MINUTES": "20",
                              "DRY_RUN": "true", "ENDPOINT_URL": "http://127.0.0.1:1"})
    assert (s.threshold_pct, s.idle_minutes, s.grace_minutes, s.dry_run, s.endpoint_url) == \
        (12.5, 45, 20, True, "http://127.0.0.1:1")
    assert "pulumi" not in open(ROOT / "scripts" / "idle_watchdog.py").read()


def _lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def _group(clients, name: str, desired: int, minimum: int, extra_tags: list[dict] | None = None) -> list[str]:
    ec2, asg = clients["ec2"], clients["autoscaling"]
    ec2.create_launch_template(LaunchTemplateName=f"{name}-lt",
                               LaunchTemplateData={"ImageId": AMI, "InstanceType": "g6e.xlarge"})
    tags = [{**TAG, "PropagateAtLaunch": True}] + [{**t, "PropagateAtLaunch": True} for t in extra_tags or []]
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": f"{name}-lt"}, MinSize=minimum, MaxSize=5,
        DesiredCapacity=desired, AvailabilityZones=[f"{REGION}a"], Tags=tags)
    return [i["InstanceId"] for i in asg.describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"]]


def test_stop_throttled_after_group_terminations_logs_every_decision_and_reports(aws, capsys):
    """Issue 21.14: StopInstances stays throttled after group members were terminated."""
    settings, _, proxy, clients = aws
    settings = wd.Settings(**{**settings.__dict__, "max_attempts": 2})
    members = _group(clients, "vm-fleet", desired=2, minimum=0)
    standalone = _launch(clients, 3)
    now = _launched(clients, members[0]) + dt.timedelta(hours=3)
    proxy.throttle["StopInstances"] = 1000
    proxy.calls.clear()
    summary = wd.run(settings, wd.make_clients(settings), now)
    assert summary["failed"] == sorted(standalone) and summary["acted"] == 2
    # One batch call and then one call per instance, each with max_attempts=2 tries: bounded.
    assert proxy.calls["StopInstances"] == 2 * (1 + len(standalone))
    lines = {line["instance_id"]: line for line in _lines(capsys)}
    assert set(lines) == set(members) | set(standalone)
    assert {lines[i]["action"] for i in members} == {"terminate-in-group"}
    assert {lines[i]["action"] for i in standalone} == {"stop-failed"}
    assert all("RequestLimitExceeded" in lines[i]["error"] for i in standalone)
    assert set(_states(clients, standalone).values()) == {"running"}


def test_throttled_terminate_does_not_stop_the_standalone_instances(aws, capsys, monkeypatch):
    """Issue 21.14: a throttled later terminate must not leave idle standalone instances untouched."""
    settings, _, proxy, clients = aws
    settings = wd.Settings(**{**settings.__dict__, "max_attempts": 2})
    members = _group(clients, "vm-fleet", desired=2, minimum=0)
    standalone = _launch(clients, 2)
    now = _launched(clients, members[0]) + dt.timedelta(hours=3)
    proxy.throttle["TerminateInstanceInAutoScalingGroup"] = 1000
    summary = wd.run(settings, wd.make_clients(settings), now)
    assert summary["failed"] == sorted(members) and summary["acted"] == 2
    assert set(_states(clients, standalone).values()) <= {"stopping", "stopped"}
    lines = {line["instance_id"]: line for line in _lines(capsys)}
    assert {lines[i]["action"] for i in members} == {"terminate-failed"}
    assert {lines[i]["action"] for i in standalone} == {"stop"}
    # The Lambda handler logs everything, then fails the invocation; the shell entry point exits 1.
    env = {"ENDPOINT_URL": settings.endpoint_url, "MAX_ATTEMPTS": "2", "DRY_RUN": "no"}
    proxy.throttle["TerminateInstanceInAutoScalingGroup"] = 1000
    real_run = wd.run
    monkeypatch.setattr(wd, "run", lambda s, c=None, n=None: real_run(s, c, now))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(wd.WatchdogFailures, match="2 instance"):
        wd.handler({}, None)
    assert wd.main(env) == 1
    assert "error: 2 instance(s) failed" in capsys.readouterr().err


def test_eks_nodes_are_skipped_and_logged(aws, capsys):
    """Issue 17.6: EKS nodes inherit AutoShutdown=true but belong to the cluster autoscaler."""
    settings, handler_clients, proxy, clients = aws
    nodes = _group(clients, "eks-gpu-ng", desired=2, minimum=0, extra_tags=[
        {"Key": "eks:cluster-name", "Value": "prod"}, {"Key": "eks:nodegroup-name", "Value": "gpu"},
        {"Key": "kubernetes.io/cluster/prod", "Value": "owned"}])
    ec2 = clients["ec2"]
    karpenter = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, TagSpecifications=[{
        "ResourceType": "instance", "Tags": [TAG, {"Key": "karpenter.sh/nodepool", "Value": "gpu"}]}])
    only_cluster_tag = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, TagSpecifications=[{
        "ResourceType": "instance", "Tags": [TAG, {"Key": "kubernetes.io/cluster/other", "Value": "owned"}]}])
    eks = nodes + [r["Instances"][0]["InstanceId"] for r in (karpenter, only_cluster_tag)]
    (vm,) = _launch(clients, 1)
    now = _launched(clients, vm) + dt.timedelta(hours=3)
    proxy.calls.clear()
    summary = wd.run(settings, handler_clients, now)
    assert (summary["skipped_eks"], summary["acted"], summary["failed"]) == (4, 1, [])
    assert proxy.calls["TerminateInstanceInAutoScalingGroup"] == 0
    assert set(_states(clients, eks).values()) == {"running"}
    lines = {line["instance_id"]: line for line in _lines(capsys)}
    assert {lines[i]["action"] for i in eks} == {"skip-eks"} and lines[vm]["action"] == "stop"
    assert "eks:cluster-name=prod" in lines[nodes[0]]["reason"]
    assert "kubernetes.io/cluster/other" in lines[only_cluster_tag["Instances"][0]["InstanceId"]]["reason"]


@pytest.mark.parametrize("values, every, idle", [
    ([1.0], 1, False),                 # one low datapoint in the window is not an hour of idleness
    (_window(1.0, minutes=30), 1, False),  # the older half of the window silent
    (_window(1.0, minutes=12), 5, False),  # one datapoint every 5 minutes: 20% coverage
    (_window(1.0, minutes=54), 1, True),   # 90% of the window covered, all low
])
def test_idle_requires_the_window_to_be_covered(aws, capsys, values, every, idle):
    """Issue 21.14: coverage of the window is required and stated in the log line."""
    settings, handler_clients, _, clients = aws
    (iid,) = _launch(clients, 1)
    now = _launched(clients, iid) + dt.timedelta(hours=3)
    _publish(clients, iid, values, now, every)
    summary = wd.run(settings, handler_clients, now)
    assert summary["acted"] == int(idle)
    (line,) = _lines(capsys)
    assert line["datapoints"] == len(values) and line["coverage_pct"] == round(100 * len(values) / 60, 1)
    assert (f"{len(values)}/60 one-minute datapoints" in line["reason"]) and \
        (("need 54" in line["reason"]) != idle)


@pytest.mark.parametrize("word, dry", [("1", True), ("yes", True), ("YES", True), ("on", True), ("true", True),
                                       ("0", False), ("no", False), ("false", False), ("", False)])
def test_dry_run_words(word, dry):
    assert wd.Settings.from_env({"DRY_RUN": word}).dry_run is dry


@pytest.mark.parametrize("env, key", [({"DRY_RUN": "maybe"}, "DRY_RUN"), ({"IDLE_MINUTES": "0"}, "IDLE_MINUTES"),
                                      ({"MIN_COVERAGE_PCT": "x"}, "MIN_COVERAGE_PCT"),
                                      ({"MAX_ATTEMPTS": "99"}, "MAX_ATTEMPTS")])
def test_bad_settings_are_one_line_exit_2(env, key, capsys):
    assert wd.main(env) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {key}: ")


def test_dry_run_yes_changes_nothing(aws, capsys):
    settings, handler_clients, _, clients = aws
    ids = _launch(clients, 2)
    now = _launched(clients, ids[0]) + dt.timedelta(hours=3)
    dry = wd.Settings(**{**settings.__dict__, "dry_run": wd.Settings.from_env({"DRY_RUN": "yes"}).dry_run})
    assert wd.run(dry, handler_clients, now)["acted"] == 2
    assert set(_states(clients, ids).values()) == {"running"}
    assert {line["action"] for line in _lines(capsys)} == {"would-stop"}
