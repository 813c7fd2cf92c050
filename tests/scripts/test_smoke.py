"""scripts/smoke.py against a stand-in gateway on 127.0.0.1 that behaves like the deployed router (API keys,
tiers, internal override, canary buckets, per-replica rate limit, routed-model response headers), healthy and
with each promise broken: the script passes the healthy one and names the broken promise otherwise."""
from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from components.k8s.manifests.router import ENVOY_REPLICAS
from components.ops.errors import OpsError
from components.ops.smoke import SmokeOptions, run_smoke, smoke_plan
from components.plan.routing import canary_bucket
from tests.conftest import ROOT
from tests.router.helpers import raw_variant, spec_of

CLUSTER = "gpuinfra-prod-us-east-1"
KEYS = {"k-default": "default", "k-ops": "ops", "k-app": "app"}
LIMIT = 60  # per replica: the 87 requests of the other checks fit in the two buckets


def raw() -> dict:
    """prod with two API clients (ops internal), a 60/min rate limit and a 30 % canary on llama-8b."""
    routing = {"clients": ["ops", "app"], "internal_clients": ["ops"], "rate_limit_requests_per_minute": LIMIT}
    canary = {"llama-8b": {"replicas": {"min": 1, "max": 3},
                           "canary": {"revision": "5206a32e0bd3067aef1ce90f5528ade7d866253f", "percent": 30}}}
    return raw_variant("prod", routing=routing, models=canary, secrets=("vllm_api_key", "router_api_keys"))


PLAN = smoke_plan(spec_of(raw()), CLUSTER)


class Gateway(BaseHTTPRequestHandler):
    """The router's behaviour per the plan; ``broken`` names one promise it breaks."""

    broken: str = ""
    used: dict[tuple[str, int], int] = {}
    turn = 0

    def log_message(self, *args) -> None:  # quiet
        pass

    def _reply(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _client(self) -> str | None:
        key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        return KEYS.get(key) or ("anyone" if self.broken == "any-key" and key else None)

    def _limited(self, client: str) -> bool:
        if self.broken == "no-rate-limit":
            return False
        cls = type(self)
        cls.turn = (cls.turn + 1) % ENVOY_REPLICAS  # one local bucket per Envoy replica, round robin
        slot = (client, cls.turn)
        cls.used[slot] = cls.used.get(slot, 0) + 1
        return cls.used[slot] > LIMIT

    def _route(self, client: str, model: str | None) -> tuple[str | None, str]:
        override = self.headers.get(PLAN.override_header)
        if override in PLAN.models and (client in PLAN.internal_clients or self.broken == "override-for-all"):
            return override, "override"
        if model in PLAN.models:
            return model, "model"
        tier = dict(PLAN.tiers).get(self.headers.get(PLAN.tier_header, ""))
        if model == "auto" and tier and self.broken != "tier-ignored":
            return tier, "tier"
        return PLAN.default_model, "default"

    def _revision(self, model: str) -> str:
        percent = dict(PLAN.canaries).get(model, 0)
        user = self.headers.get(PLAN.user_header)
        if self.broken == "canary-random":
            return random.choice(["stable", "canary"])
        return "canary" if user and canary_bucket(user) < percent else "stable"

    def _handle(self, body: dict | None) -> None:
        client = self._client()
        if client is None:
            return self._reply(401, {"error": "unauthorized"})
        if self._limited(client):
            return self._reply(429, {"error": "rate limited"}, {"Retry-After": "0"})
        model, rule = self._route(client, (body or {}).get("model"))
        if self.broken == "override-internal-ignored" and rule == "override":
            model, rule = PLAN.default_model, "default"
        if model is None or (self.broken == "model-down" and model == "llama-70b"):
            return self._reply(503, {"error": "no healthy upstream"})
        routed = {"x-gpuinfra-model": model, "x-gpuinfra-revision": self._revision(model), "x-gpuinfra-rule": rule}
        if body is None:
            return self._reply(200, {"object": "list", "data": [{"id": m} for m in PLAN.models]}, routed)
        self._reply(200, {"object": "chat.completion", "model": body["model"],
                          "choices": [{"index": 0, "message": {"role": "assistant", "content": "OK"}}]}, routed)

    def do_GET(self) -> None:  # noqa: N802
        self._handle(None)

    def do_POST(self) -> None:  # noqa: N802
        self._handle(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}"))


@contextmanager
def gateway(broken: str = "") -> Iterator[str]:
    handler = type("G", (Gateway,), {"broken": broken, "used": {}, "turn": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


OPTIONS = dict(canary_users=40, canary_tolerance_pct=15.0, max_rate_requests=200, timeout_seconds=5)


def smoke(endpoint: str, internal_key: str | None = "k-ops") -> dict[str, str]:
    checks = run_smoke(PLAN, endpoint, "k-app", internal_key, SmokeOptions(**OPTIONS, sleep=lambda s: None))
    return {c.name: c.status for c in checks}


def test_the_plan_holds_the_promises_the_checks_use():
    assert PLAN.models == ("llama-70b", "llama-8b") and PLAN.default_model == "llama-8b"
    assert dict(PLAN.tiers) == {"premium": "llama-70b", "free": "llama-8b"}
    assert PLAN.canaries == (("llama-8b", 30),) and PLAN.internal_clients == ("ops",)
    assert PLAN.rate_limit_per_minute == LIMIT


def test_a_healthy_gateway_passes_every_check():
    with gateway() as url:
        result = smoke(url)
    assert set(result.values()) == {"pass"}, result
    assert {"model:llama-70b", "model:llama-8b", "auth:wrong-key", "auth:no-key", "tier:premium", "tier:free",
            "default", "override:ignored-for-external", "override:internal", "canary:llama-8b",
            "rate-limit"} == set(result)


@pytest.mark.parametrize("broken, failing", [
    ("any-key", {"auth:wrong-key"}),                            # a wrong key gets through
    ("model-down", {"model:llama-70b", "tier:premium", "override:internal"}),  # one model does not answer
    ("tier-ignored", {"tier:premium"}),                         # the tier header routes nowhere
    ("override-for-all", {"override:ignored-for-external"}),    # external clients can pick a model
    ("override-internal-ignored", {"override:internal"}),       # internal clients cannot
    ("canary-random", {"canary:llama-8b"}),                     # users flip between revisions
    ("no-rate-limit", {"rate-limit"}),                          # the limit never answers 429
])
def test_each_broken_promise_is_caught(broken, failing):
    random.seed(7)
    with gateway(broken) as url:
        result = smoke(url)
    assert {name for name, status in result.items() if status == "fail"} == failing, result


def test_without_an_internal_key_the_positive_override_is_skipped():
    with gateway() as url:
        assert smoke(url, internal_key=None)["override:internal"] == "skip"


def test_a_rate_limit_beyond_the_request_budget_is_skipped_not_hammered():
    options = SmokeOptions(**{**OPTIONS, "max_rate_requests": LIMIT}, sleep=lambda s: None)
    with gateway() as url:
        checks = run_smoke(PLAN, url, "k-app", "k-ops", options, skip=("models", "auth", "tiers", "override", "canary"))
    assert [(c.name, c.status) for c in checks] == [("rate-limit", "skip")]


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(OpsError, match=r"--cluster: required, the stack has 3 routers \(allowed: "):
        smoke_plan(spec_of(raw()))
    with pytest.raises(OpsError, match="--cluster: unknown cluster 'nope'"):
        smoke_plan(spec_of(raw()), "nope")
    with pytest.raises(OpsError, match="--skip: unknown check 'canaries'"):
        run_smoke(PLAN, "http://127.0.0.1:9", "k", skip=("canaries",))
    with pytest.raises(OpsError, match="--endpoint: http://127.0.0.1:9 unreachable"):
        run_smoke(PLAN, "http://127.0.0.1:9", "k", options=SmokeOptions(timeout_seconds=2))


def _cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    config = tmp_path / "Pulumi.prod.yaml"
    config.write_text(yaml.safe_dump({"config": raw()}))
    argv = [sys.executable, str(ROOT / "scripts" / "smoke.py"), "--stack", "prod", "--config-file", str(config),
            "--cluster", CLUSTER, "--max-rate-requests", "200", "--timeout", "5", *args]
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_cli_exit_codes(tmp_path):
    with gateway() as url:
        ok = _cli(tmp_path, "--endpoint", url, "--key", "k-app", "--internal-key", "k-ops", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["failed"] == 0
    with gateway("any-key") as url:
        bad = _cli(tmp_path, "--endpoint", url, "--key", "k-app", "--skip", "rate-limit,canary")
    assert bad.returncode == 1 and "FAIL  auth:wrong-key" in bad.stdout
    down = _cli(tmp_path, "--endpoint", "http://127.0.0.1:9", "--key", "k")
    assert down.returncode == 2 and down.stderr.strip().count("\n") == 0 and "unreachable" in down.stderr
    url = _cli(tmp_path, "--endpoint", "llm.example.com", "--key", "k")
    assert url.returncode == 2 and "--endpoint: 'llm.example.com' is not a URL" in url.stderr


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_deploy_workflow_smoke_tests_each_stack_after_pulumi_up(stack):
    steps = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())["jobs"][f"up-{stack}"]["steps"]
    up = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("pulumi/actions") and s["with"]["command"] == "up")
    smoke_steps = [s for s in steps[up + 1:] if "scripts/smoke.py" in s.get("run", "")]
    assert len(smoke_steps) == 1
    run = smoke_steps[0]["run"]
    assert f"--stack {stack}" in run and "set -o pipefail" in run  # tee must not hide a failed check
