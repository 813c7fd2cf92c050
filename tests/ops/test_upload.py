"""scripts/upload_weights.py against real HTTP: S3 on moto (directly, or through the gateway for throttling and
denials), gs:// on the loopback GCS JSON API (resumable uploads)."""
from __future__ import annotations

import hashlib
import json
import os

import pytest

from components.k8s.sync_weights import check_manifest
from components.ops import clients
from components.ops.upload_gcs import GcsUploader
from components.ops.weights import upload_model, verify_model
from tests.ops.conftest import run_script

MIB = 1024 * 1024
PART = 5 * MIB  # S3's minimum part size


def _model(tmp_path, weights_mib: float = 12.5, extra: dict | None = None):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"architectures": ["X"]}))
    (model / "tokenizer.json").write_text("{}")
    (model / "README.md").write_text("not uploaded")
    (model / "model.safetensors").write_bytes(os.urandom(int(weights_mib * MIB)))
    for name, data in (extra or {}).items():
        (model / name).write_bytes(data)
    return model


def _s3(url):
    return clients.aws_client("s3", "us-east-1", url)


def _upload_args(model, bucket, url, tmp_path, *extra):
    return [str(model), f"s3://{bucket}", "--model", "m", "--revision", "r1", "--endpoint-url", url,
            "--part-size-mib", "5", "--state-file", str(tmp_path / "state.json"), "--no-progress", *extra]


def test_upload_writes_objects_and_manifest_last(gateway, tmp_path, bucket_name):
    state, url = gateway
    model = _model(tmp_path)
    _s3(url).create_bucket(Bucket=bucket_name)
    result = run_script("upload_weights", _upload_args(model, bucket_name, url, tmp_path))
    assert result.exit_code == 0, result.output
    assert "skipped README.md" in result.stdout
    s3 = _s3(url)
    body = json.loads(s3.get_object(Bucket=bucket_name, Key="m/r1/manifest.json")["Body"].read())
    local = {p.name: p for p in model.iterdir() if p.suffix in (".json", ".safetensors")}
    assert body == {"model": "m", "revision": "r1", "files": [
        {"path": name, "size": local[name].stat().st_size,
         "sha256": hashlib.sha256(local[name].read_bytes()).hexdigest()} for name in sorted(local)]}
    assert check_manifest(body)  # the serving init container accepts it
    writes = [path for method, path in state.requests if method in ("PUT", "POST")]
    assert writes[-1].endswith("/m/r1/manifest.json")
    assert sum(1 for p in writes if "partNumber=" in p) == 3  # 12.5 MiB in 5 MiB parts
    assert not (tmp_path / "state.json").exists()  # cleared after success
    verify = run_script("upload_weights", ["--verify", f"s3://{bucket_name}", "--model", "m", "--revision", "r1",
                                           "--endpoint-url", url])
    assert verify.exit_code == 0 and "3 files, 0 mismatches" in verify.stdout


def test_pickle_refused_unless_allowed(moto_url, tmp_path, bucket_name):
    model = _model(tmp_path, 0.1, {"pytorch_model.bin": b"\x80\x04pickle"})
    _s3(moto_url).create_bucket(Bucket=bucket_name)
    refused = run_script("upload_weights", _upload_args(model, bucket_name, moto_url, tmp_path))
    assert refused.exit_code == 2
    assert "refusing pickle weights (arbitrary code on load): pytorch_model.bin" in refused.stderr
    assert "Contents" not in _s3(moto_url).list_objects_v2(Bucket=bucket_name)
    allowed = run_script("upload_weights", _upload_args(model, bucket_name, moto_url, tmp_path, "--allow-pickle"))
    assert allowed.exit_code == 0, allowed.output
    _s3(moto_url).head_object(Bucket=bucket_name, Key="m/r1/pytorch_model.bin")


def test_interrupted_upload_resumes_with_same_upload_id(moto_url, tmp_path, bucket_name):
    model = _model(tmp_path, 24)  # 5 parts
    s3 = _s3(moto_url)
    s3.create_bucket(Bucket=bucket_name)
    state_file = tmp_path / "state.json"
    created, sent = [], []
    s3.meta.events.register("after-call.s3.CreateMultipartUpload",
                            lambda parsed, **kw: created.append(parsed["UploadId"]))

    def crash_after_two(path, number):
        sent.append(number)
        if len(sent) == 2:
            raise KeyboardInterrupt("simulated kill after 2 parts")

    with pytest.raises(KeyboardInterrupt):
        upload_model(model, f"s3://{bucket_name}", "m", "r1", s3=s3, part_size=PART, concurrency=1,
                     state_file=state_file, show_progress=False, on_part=crash_after_two)
    saved = json.loads(state_file.read_text())["files"]["model.safetensors"]
    done_before = {int(n) for n in saved["parts"]}
    # The kill lands after part 2; a part already in flight on the worker may still finish and be recorded.
    assert saved["upload_id"] == created[0] and {1, 2} <= done_before < {1, 2, 3, 4, 5}
    pending = s3.list_multipart_uploads(Bucket=bucket_name)["Uploads"]
    assert [u["UploadId"] for u in pending] == created
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket=bucket_name, Key="m/r1/manifest.json")  # no manifest for a partial upload

    resumed: list[int] = []
    upload_model(model, f"s3://{bucket_name}", "m", "r1", s3=s3, part_size=PART, concurrency=2,
                 state_file=state_file, show_progress=False, on_part=lambda p, n: resumed.append(n),
                 list_page_size=1)
    assert len(created) == 1  # no second CreateMultipartUpload: the same upload id was completed
    assert sorted(resumed) == sorted({1, 2, 3, 4, 5} - done_before)  # only the missing parts were sent
    data = s3.get_object(Bucket=bucket_name, Key="m/r1/model.safetensors")["Body"].read()
    assert data == (model / "model.safetensors").read_bytes()
    assert verify_model(f"s3://{bucket_name}", "m", "r1", s3=s3)[1] == []


def test_verify_catches_corrupted_and_missing_objects(moto_url, tmp_path, bucket_name):
    model = _model(tmp_path, 6)
    s3 = _s3(moto_url)
    s3.create_bucket(Bucket=bucket_name)
    upload_model(model, f"s3://{bucket_name}", "m", "r1", s3=s3, part_size=PART, state_file=tmp_path / "s.json",
                 show_progress=False)
    original = (model / "model.safetensors").read_bytes()
    s3.put_object(Bucket=bucket_name, Key="m/r1/model.safetensors", Body=bytes(len(original)))  # same size
    s3.put_object(Bucket=bucket_name, Key="m/r1/config.json", Body=b"{}")  # other size
    s3.delete_object(Bucket=bucket_name, Key="m/r1/tokenizer.json")
    result = run_script("upload_weights", ["--verify", f"s3://{bucket_name}", "--model", "m", "--revision", "r1",
                                           "--endpoint-url", moto_url])
    assert result.exit_code == 1
    mismatches = sorted(line.split()[1] for line in result.stdout.splitlines() if line.startswith("MISMATCH"))
    assert mismatches == ["config.json:", "model.safetensors:", "tokenizer.json:"]
    assert "MISMATCH tokenizer.json: missing" in result.stdout
    assert f"MISMATCH model.safetensors: sha256 {hashlib.sha256(bytes(len(original))).hexdigest()}" in result.stdout


def test_throttled_s3_requests_are_retried(gateway, tmp_path, bucket_name):
    state, url = gateway
    model = _model(tmp_path, 11)
    _s3(url).create_bucket(Bucket=bucket_name)
    state.inject("PUT s3", 4)  # SlowDown 503 on the first four part/object PUTs
    result = run_script("upload_weights", _upload_args(model, bucket_name, url, tmp_path))
    assert result.exit_code == 0, result.output
    assert state.calls["PUT s3"] >= 4 + 3 + 3  # 4 throttled, 3 parts, config + tokenizer + manifest
    assert verify_model(f"s3://{bucket_name}", "m", "r1", s3=_s3(url))[1] == []


def test_access_denied_is_one_line_exit_2(gateway, tmp_path, bucket_name):
    state, url = gateway
    model = _model(tmp_path, 0.1)
    _s3(url).create_bucket(Bucket=bucket_name)
    state.inject("PUT s3", 100, kind="deny")
    result = run_script("upload_weights", _upload_args(model, bucket_name, url, tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: AWS permission denied on PutObject: AccessDenied: AccessDenied injected"]


def test_missing_credentials_exit_2(moto_url, tmp_path, monkeypatch):
    model = _model(tmp_path, 0.1)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run_script("upload_weights", _upload_args(model, "any-bucket", moto_url, tmp_path))
    assert result.exit_code == 2 and "AWS credentials not found" in result.stderr


def test_bad_destination_exit_2(tmp_path):
    result = run_script("upload_weights", [str(_model(tmp_path, 0.1)), "bucket-without-scheme", "--model", "m",
                                           "--revision", "r1"])
    assert result.exit_code == 2 and "must start with s3:// or gs://" in result.stderr


# --- gs:// on the loopback GCS JSON API ---

def test_gcs_resumable_upload_verify_and_corruption(gcp, tmp_path):
    state, url = gcp
    model = _model(tmp_path, 9.5)  # above the client's 8 MiB multipart limit: a resumable session
    base = ["gs://wbucket", "--model", "m", "--revision", "r1", "--gcs-endpoint", url, "--gcp-anonymous"]
    result = run_script("upload_weights", [str(model), *base, "--state-file", str(tmp_path / "s.json"),
                                           "--no-progress", "--part-size-mib", "5"])
    assert result.exit_code == 0, result.output
    assert state.objects[("wbucket", "m/r1/model.safetensors")] == (model / "model.safetensors").read_bytes()
    manifest = json.loads(state.objects[("wbucket", "m/r1/manifest.json")])
    assert [f["path"] for f in manifest["files"]] == ["config.json", "model.safetensors", "tokenizer.json"]
    uploads = [c for c in state.calls if c.startswith(("POST /upload", "PUT /upload"))]
    assert uploads[-1] == "POST /upload/storage/v1/b/wbucket/o"  # manifest last
    assert uploads.count("PUT /upload/storage/v1/b/wbucket/o") == 2  # 9.5 MiB in 5 MiB resumable chunks
    assert run_script("upload_weights", ["--verify", *base]).exit_code == 0
    state.objects[("wbucket", "m/r1/model.safetensors")] = bytes(int(9.5 * MIB))
    bad = run_script("upload_weights", ["--verify", *base])
    assert bad.exit_code == 1 and "MISMATCH model.safetensors: sha256" in bad.stdout


def test_gcs_multi_chunk_upload_and_object_resume(gcp, tmp_path, monkeypatch):
    state, url = gcp
    model = _model(tmp_path, 9)
    client = clients.storage_client(clients.gcp_credentials(True)[0], "p", url)
    state_file = tmp_path / "s.json"

    def crash(*_args, **_kwargs):
        raise ConnectionError("simulated kill before the manifest")

    with monkeypatch.context() as patch:
        patch.setattr(GcsUploader, "put_manifest", crash)
        with pytest.raises(ConnectionError):
            upload_model(model, "gs://wb", "m", "r1", gcs=client, part_size=MIB, state_file=state_file,
                         show_progress=False)
    assert state.calls.count("PUT /upload/storage/v1/b/wb/o") == 9  # 9 MiB in 1 MiB resumable chunks
    assert ("wb", "m/r1/manifest.json") not in state.objects
    before = len(state.calls)
    upload_model(model, "gs://wb", "m", "r1", gcs=client, part_size=MIB, state_file=state_file, show_progress=False)
    again = [c for c in state.calls[before:] if c.startswith(("PUT /upload", "POST /upload"))]
    assert again == ["POST /upload/storage/v1/b/wb/o"]  # only the manifest: every object was resumed as done
    assert verify_model("gs://wb", "m", "r1", gcs=client)[1] == []
