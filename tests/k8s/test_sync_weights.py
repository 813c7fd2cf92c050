"""The weight-sync init-container script, run as a process with the real s5cmd against moto on 127.0.0.1."""
from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import boto3
import pytest

from components.k8s import sync_weights
from tests.conftest import ROOT, require_tool

SCRIPT = ROOT / "components" / "k8s" / "sync_weights.py"
BUCKET = "weights"
PREFIX = "llama-8b/0e9e39f2/"
FILES = {  # path -> content: a sharded checkpoint with a nested tokenizer file
    "config.json": b'{"architectures": ["LlamaForCausalLM"]}',
    "model-00001-of-00002.safetensors": os.urandom(3 * 1024 * 1024 + 17),
    "model-00002-of-00002.safetensors": os.urandom(1024 * 1024 + 5),
    "tokenizer/tokenizer.json": b'{"version": "1.0"}',
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():
    """A moto S3 server on 127.0.0.1 (real HTTP)."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture()
def s3(moto_endpoint, monkeypatch):
    """A fresh bucket holding FILES and a manifest in the upload script's format."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []) if _exists(client) else []:
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    if not _exists(client):
        client.create_bucket(Bucket=BUCKET)
    for path, body in FILES.items():
        client.put_object(Bucket=BUCKET, Key=PREFIX + path, Body=body)
    put_manifest(client, {p: b for p, b in FILES.items()})
    return client


def _exists(client) -> bool:
    return any(b["Name"] == BUCKET for b in client.list_buckets().get("Buckets", []))


def put_manifest(client, files: dict[str, bytes], override: dict[str, str] | None = None) -> None:
    entries = [{"path": p, "size": len(b), "sha256": (override or {}).get(p, hashlib.sha256(b).hexdigest())}
               for p, b in files.items()]
    body = json.dumps({"model": "llama-8b", "revision": "0e9e39f2", "files": entries}).encode()
    client.put_object(Bucket=BUCKET, Key=PREFIX + "manifest.json", Body=body)


@pytest.fixture()
def counting_s5cmd(tmp_path) -> tuple[Path, Path]:
    """A wrapper that logs every s5cmd invocation (and its command file) before running the real one."""
    real = require_tool("s5cmd", str(ROOT / ".venv" / "bin" / "s5cmd"))
    calls = tmp_path / "calls.log"
    wrapper = tmp_path / "s5cmd"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do case "$a" in *.txt) cat "$a" >> "{calls}";; esac; done\n'
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper, calls


def run_sync(dest: Path, endpoint: str, binary: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--source", f"s3://{BUCKET}/{PREFIX}", "--dest", str(dest),
         "--copier", "s5cmd", "--binary", str(binary), "--endpoint-url", endpoint, "--workers", "4"],
        capture_output=True, text=True, timeout=120, check=False,
    )


def downloaded_keys(calls: Path) -> list[str]:
    """Object keys fetched (manifest.json excluded), from the command files s5cmd ran."""
    if not calls.exists():
        return []
    keys = [line.split('"')[1].split(PREFIX, 1)[1] for line in calls.read_text().splitlines() if line.startswith("cp ")]
    return [k for k in keys if k != "manifest.json"]


def test_downloads_verifies_and_marks_complete(s3, moto_endpoint, counting_s5cmd, tmp_path):
    binary, calls = counting_s5cmd
    dest = tmp_path / "cache" / "models" / "llama-8b" / "0e9e39f2"
    result = run_sync(dest, moto_endpoint, binary)
    assert result.returncode == 0, result.stderr
    for path, body in FILES.items():
        assert (dest / path).read_bytes() == body
    manifest_sha = hashlib.sha256((dest / "manifest.json").read_bytes()).hexdigest()
    assert (dest / ".complete").read_text().strip() == manifest_sha
    assert not (dest / ".partial").exists()
    assert (dest.parent / ".0e9e39f2.lock").exists()  # the per-node lock sits in the cache dir
    assert sorted(downloaded_keys(calls)) == sorted(FILES)


def test_skips_when_complete(s3, moto_endpoint, counting_s5cmd, tmp_path):
    binary, calls = counting_s5cmd
    dest = tmp_path / "m" / "r"
    assert run_sync(dest, moto_endpoint, binary).returncode == 0
    calls.unlink()
    second = run_sync(dest, moto_endpoint, binary)
    assert second.returncode == 0
    assert downloaded_keys(calls) == []
    assert '"event": "skip"' in second.stderr


def test_resumes_after_interrupted_run(s3, moto_endpoint, counting_s5cmd, tmp_path):
    binary, calls = counting_s5cmd
    dest = tmp_path / "m" / "r"
    assert run_sync(dest, moto_endpoint, binary).returncode == 0
    # Simulate a run killed mid-way: no marker, one shard missing, one shard truncated in staging.
    (dest / ".complete").unlink()
    (dest / "model-00002-of-00002.safetensors").unlink()
    (dest / ".partial").mkdir()
    (dest / ".partial" / "model-00002-of-00002.safetensors").write_bytes(b"half")
    kept = (dest / "model-00001-of-00002.safetensors").stat().st_ino
    calls.unlink()
    result = run_sync(dest, moto_endpoint, binary)
    assert result.returncode == 0, result.stderr
    assert downloaded_keys(calls) == ["model-00002-of-00002.safetensors"]
    assert (dest / "model-00001-of-00002.safetensors").stat().st_ino == kept
    assert (dest / "model-00002-of-00002.safetensors").read_bytes() == FILES["model-00002-of-00002.safetensors"]
    assert (dest / ".complete").exists()


def test_checksum_mismatch_is_refused(s3, moto_endpoint, counting_s5cmd, tmp_path):
    binary, _ = counting_s5cmd
    put_manifest(s3, FILES, override={"model-00001-of-00002.safetensors": "0" * 64})
    dest = tmp_path / "m" / "r"
    result = run_sync(dest, moto_endpoint, binary)
    assert result.returncode == 3
    assert "sha256 mismatch for model-00001-of-00002.safetensors" in result.stderr
    assert not (dest / ".complete").exists()
    assert not (dest / "model-00001-of-00002.safetensors").exists()


def test_pickle_files_are_refused_before_download(s3, moto_endpoint, counting_s5cmd, tmp_path):
    binary, calls = counting_s5cmd
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "pytorch_model.bin", Body=b"pickle")
    put_manifest(s3, {**FILES, "pytorch_model.bin": b"pickle"})
    result = run_sync(tmp_path / "m" / "r", moto_endpoint, binary)
    assert result.returncode == 2
    assert "refusing pickle file 'pytorch_model.bin'" in result.stderr
    assert downloaded_keys(calls) == []


def test_lock_makes_concurrent_runs_share_one_download(s3, moto_endpoint, counting_s5cmd, tmp_path):
    binary, calls = counting_s5cmd
    dest = tmp_path / "cache" / "models" / "llama-8b" / "0e9e39f2"
    argv = [sys.executable, str(SCRIPT), "--source", f"s3://{BUCKET}/{PREFIX}", "--dest", str(dest),
            "--copier", "s5cmd", "--binary", str(binary), "--endpoint-url", moto_endpoint]
    procs = [subprocess.Popen(argv, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sorted(downloaded_keys(calls)) == sorted(FILES)  # each file fetched once in total
    assert sum('"event": "skip"' in out for out in outputs) == 1


class _Agent(BaseHTTPRequestHandler):
    """A stand-in EKS Pod Identity agent: answers only with the right Authorization header."""

    def do_GET(self):  # noqa: N802 (http.server API)
        if self.headers.get("Authorization") != "pod-token":
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps({"AccessKeyId": "AKIA", "SecretAccessKey": "s3cr3t", "Token": "tok"}).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_pod_identity_credentials_reach_the_copier(tmp_path, monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _Agent)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = tmp_path / "token"
    token.write_text("pod-token\n")
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"http://127.0.0.1:{server.server_port}/v1/credentials")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token))
    try:
        env = sync_weights.Copier("s5cmd", "s5cmd", None, 4).env
    finally:
        server.shutdown()
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]) == ("AKIA", "s3cr3t", "tok")
