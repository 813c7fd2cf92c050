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


def _publish(clients, instance_id: str, values: list[float], now: dt.datetime) -> None:
    clients["cloudwatch"].put_metric_data(Namespace=NAMESPACE, MetricData=[
        {"MetricName": METRIC, "Dimensions": [{"Name": "InstanceId", "Value": instance_id}], "Unit": "Percent",
         "Timestamp": now - dt.timedelta(minutes=5 * (n + 1)), "Value": v} for n, v in enumerate(values)])


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
    assert summary == {"seen": 120, "idle": 120, "acted": 120, "skipped": 0, "dry_run": False}
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
    _publish(clients, idle, [1.0, 3.5, 9.9], now)
    _publish(clients, busy, [1.0, 55.0, 2.0], now)
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
