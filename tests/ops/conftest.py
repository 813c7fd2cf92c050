"""Fixtures for the ops scripts: a moto server on 127.0.0.1, the AWS gateway in front of it, the GCP server."""
from __future__ import annotations

import logging
import shutil
import socket
import uuid

import pytest

from tests.conftest import ROOT
from tests.ops import aws_gateway, gcp_server

DATA_DIR = ROOT / "components" / "catalog" / "data"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    """Fake credentials, no instance metadata lookups, no ambient endpoint/profile; quick retry backoff."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "GPUINFRA_GCP_ENDPOINT",
                "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    # The retries still happen (counted by the gateway); only the sleep between them is shortened.
    import botocore.retries.standard as standard
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.01)
    # Adaptive mode's client-side token bucket would also sleep after each throttle (seconds per test):
    # the retry handler stays real, the rate limiter's pacing is switched off.
    import botocore.retries.adaptive as adaptive
    monkeypatch.setattr(adaptive.ClientRateLimiter, "on_sending_request", lambda self, request, **kwargs: None)


@pytest.fixture(scope="session")
def moto_url():
    """moto's ThreadedMotoServer on a free 127.0.0.1 port (real HTTP)."""
    from moto.server import ThreadedMotoServer
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def gateway(moto_url):
    """(state, endpoint): the AWS gateway forwarding to moto; fresh state per test."""
    server, state, url = aws_gateway.start(moto_url)
    yield state, url
    server.shutdown()
    server.server_close()


@pytest.fixture
def gcp():
    """(state, base URL) of the loopback GCP server."""
    server, state, url = gcp_server.start()
    yield state, url
    server.shutdown()
    server.server_close()


@pytest.fixture
def catalog_copy(tmp_path):
    """A writable copy of the shipped catalog data directory."""
    target = tmp_path / "catalog"
    shutil.copytree(DATA_DIR, target)
    return target


@pytest.fixture
def bucket_name():
    """A unique bucket name (the moto server is shared by the session)."""
    return f"weights-{uuid.uuid4().hex[:12]}"


def run_script(name: str, args: list[str]):
    """Runs scripts/<name>.py's typer app in-process; returns the click Result (exit_code, stdout, stderr)."""
    import importlib.util

    from typer.testing import CliRunner
    spec = importlib.util.spec_from_file_location(f"ops_script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return CliRunner().invoke(module.app, args)
