"""upload_weights.py under faults (issues 21.3, 21.12): revision/model validation, a kill after the server
completed a multipart upload, a shard edited between kill and rerun, missing/corrupt manifest, missing bucket,
unreachable endpoint, corrupt state file. S3 is moto on 127.0.0.1 (through the gateway where requests are
counted); the unreachable endpoint is a closed loopback port."""
from __future__ import annotations

import json
import os
import posixpath
import socket
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.ops import clients
from components.ops.errors import OpsError
from components.ops.upload import check_revision, parse_destination
from components.ops.upload_s3 import S3Uploader
from components.ops.weights import upload_model, verify_model
from tests.ops.conftest import run_script

MIB = 1024 * 1024
PART = 5 * MIB


def _model(tmp_path, weights_mib: float = 12.5):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"architectures": ["X"]}))
    (model / "model.safetensors").write_bytes(os.urandom(int(weights_mib * MIB)))
    return model


def _s3(url):
    return clients.aws_client("s3", "us-east-1", url)


def _args(model, bucket, url, tmp_path, *extra, revision="r1"):
    return [str(model), f"s3://{bucket}", "--model", "m", "--revision", revision, "--endpoint-url", url,
            "--part-size-mib", "5", "--state-file", str(tmp_path / "state.json"), "--no-progress", *extra]


def _one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed on exit: nothing listens there


# --- 21.3: the revision is one key level -------------------------------------------------------------------

@pytest.mark.parametrize("revision", ["../../escape", "..", "a/b", "a\\b", "a b", "tab\tx", ".hidden", "x.lock",
                                      "x.", "%2e%2e", "-flag", "@", "a@{1}", "", "main\n"])
def test_bad_revision_is_refused_before_any_request(revision, gateway, tmp_path, bucket_name):
    state, url = gateway
    result = run_script("upload_weights", _args(_model(tmp_path, 0.1), bucket_name, url, tmp_path, revision=revision))
    assert result.exit_code == 2
    assert _one_error_line(result).startswith(f"error: --revision: {revision!r} is not a Hugging Face revision")
    assert state.requests == []  # refused before the bucket is touched


@pytest.mark.parametrize("revision", ["0e9e39f", "a" * 40, "0123456789abcdef0123456789abcdef01234567", "main",
                                      "v1.0", "v2.1.0-rc1", "release_2024"])
def test_hugging_face_revisions_are_accepted(revision):
    assert parse_destination("s3://b", "m", revision).prefix == f"m/{revision}/"


def test_model_name_cannot_escape_either(tmp_path):
    result = run_script("upload_weights", [str(_model(tmp_path, 0.1)), "s3://b", "--model", "../x", "--revision",
                                           "r1"])
    assert result.exit_code == 2 and _one_error_line(result).startswith("error: --model: '../x' must be one key level")


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.text(alphabet=string.printable + "é/\\.", max_size=60))
def test_accepted_revisions_stay_one_level_under_the_model(revision):
    """Property: whatever is accepted maps to exactly <model>/<revision>/ and normalises to itself."""
    try:
        check_revision(revision)
    except OpsError as exc:
        assert str(exc).startswith("--revision: ")
        return
    prefix = parse_destination("s3://b/base", "m", revision).prefix
    assert posixpath.normpath(prefix) == f"base/m/{revision}"
    assert not any(c.isspace() for c in revision) and "/" not in revision and "\\" not in revision
    assert revision not in (".", "..") and not revision.startswith(".")


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.text(alphabet="0123456789abcdef", min_size=40, max_size=40))
def test_every_commit_sha_is_accepted(sha):
    assert check_revision(sha) == sha


# --- 21.12: resume against what the bucket holds ----------------------------------------------------------

def test_kill_after_server_completed_does_not_resend(gateway, tmp_path, bucket_name, monkeypatch):
    state, url = gateway
    model = _model(tmp_path, 24)  # 5 parts
    s3 = _s3(url)
    s3.create_bucket(Bucket=bucket_name)
    original = S3Uploader._complete

    def complete_then_die(self, local, entry):
        with monkeypatch.context() as patch:
            patch.setattr(self.state, "update", lambda mutate: None)  # the kill lands before the state is saved
            original(self, local, entry)
        raise KeyboardInterrupt("killed after CompleteMultipartUpload")

    with monkeypatch.context() as patch:
        patch.setattr(S3Uploader, "_complete", complete_then_die)
        with pytest.raises(KeyboardInterrupt):
            upload_model(model, f"s3://{bucket_name}", "m", "r1", s3=s3, part_size=PART, concurrency=2,
                         state_file=tmp_path / "state.json", show_progress=False)
    saved = json.loads((tmp_path / "state.json").read_text())["files"]["model.safetensors"]
    assert saved.get("upload_id") and not saved.get("done")  # the state never heard of the completion
    before = len(state.requests)
    result = run_script("upload_weights", _args(model, bucket_name, url, tmp_path))
    assert result.exit_code == 0, result.output
    rerun = state.requests[before:]
    assert [p for m, p in rerun if "partNumber=" in p] == []  # no part re-sent
    assert [p for m, p in rerun if m == "POST" and "uploads" in p] == []  # no new multipart upload
    assert verify_model(f"s3://{bucket_name}", "m", "r1", s3=s3)[1] == []


def test_shard_edited_between_kill_and_rerun_leaves_no_orphaned_upload(moto_url, tmp_path, bucket_name):
    model = _model(tmp_path, 24)
    s3 = _s3(moto_url)
    s3.create_bucket(Bucket=bucket_name)
    sent = []

    def crash_after_two(path, number):
        sent.append(number)
        if len(sent) == 2:
            raise KeyboardInterrupt("killed after 2 parts")

    with pytest.raises(KeyboardInterrupt):
        upload_model(model, f"s3://{bucket_name}", "m", "r1", s3=s3, part_size=PART, concurrency=1,
                     state_file=tmp_path / "state.json", show_progress=False, on_part=crash_after_two)
    assert len(s3.list_multipart_uploads(Bucket=bucket_name).get("Uploads", [])) == 1
    new = os.urandom(int(24 * MIB))
    (model / "model.safetensors").write_bytes(new)  # edited: size same, content and mtime new
    result = run_script("upload_weights", _args(model, bucket_name, moto_url, tmp_path))
    assert result.exit_code == 0, result.output
    assert s3.list_multipart_uploads(Bucket=bucket_name).get("Uploads", []) == []
    assert s3.get_object(Bucket=bucket_name, Key="m/r1/model.safetensors")["Body"].read() == new


def test_shard_removed_between_kill_and_rerun_aborts_its_upload(moto_url, tmp_path, bucket_name):
    model = _model(tmp_path, 11)
    (model / "extra.safetensors").write_bytes(os.urandom(11 * MIB))
    s3 = _s3(moto_url)
    s3.create_bucket(Bucket=bucket_name)
    sent = []

    def crash(path, number):
        sent.append(path)
        if path == "extra.safetensors" and number == 2:
            raise KeyboardInterrupt("killed while extra.safetensors streams (model.safetensors' upload is open)")

    with pytest.raises(KeyboardInterrupt):
        upload_model(model, f"s3://{bucket_name}", "m", "r1", s3=s3, part_size=PART, concurrency=1,
                     state_file=tmp_path / "state.json", show_progress=False, on_part=crash)
    assert len(s3.list_multipart_uploads(Bucket=bucket_name).get("Uploads", [])) == 2
    (model / "extra.safetensors").unlink()
    assert run_script("upload_weights", _args(model, bucket_name, moto_url, tmp_path)).exit_code == 0
    assert s3.list_multipart_uploads(Bucket=bucket_name).get("Uploads", []) == []


# --- 21.12: one line and a documented exit code per fault ------------------------------------------------

def _verify(bucket, url):
    return run_script("upload_weights", ["--verify", f"s3://{bucket}", "--model", "m", "--revision", "r1",
                                         "--endpoint-url", url])


def test_verify_missing_manifest_exit_1(moto_url, bucket_name):
    _s3(moto_url).create_bucket(Bucket=bucket_name)
    result = _verify(bucket_name, moto_url)
    assert result.exit_code == 1
    assert _one_error_line(result) == (f"error: s3://{bucket_name}/m/r1/manifest.json not found: the revision was "
                                       "never completely uploaded (manifest.json is written last)")


@pytest.mark.parametrize("body", [b"{not json", b'{"files": "x"}', b'{"files": [{"path": "a"}]}', b"[]"])
def test_verify_corrupt_manifest_exit_1(moto_url, bucket_name, body):
    s3 = _s3(moto_url)
    s3.create_bucket(Bucket=bucket_name)
    s3.put_object(Bucket=bucket_name, Key="m/r1/manifest.json", Body=body)
    result = _verify(bucket_name, moto_url)
    assert result.exit_code == 1
    assert _one_error_line(result).startswith(f"error: s3://{bucket_name}/m/r1/manifest.json is corrupt (")


def test_missing_bucket_exit_2(moto_url, tmp_path, bucket_name):
    upload = run_script("upload_weights", _args(_model(tmp_path, 0.1), bucket_name, moto_url, tmp_path))
    verify = _verify(bucket_name, moto_url)
    for result in (upload, verify):
        assert result.exit_code == 2
        assert _one_error_line(result).startswith(f"error: bucket: s3://{bucket_name} does not exist")


def test_unreachable_endpoint_exit_1_within_the_retry_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUINFRA_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("GPUINFRA_CONNECT_TIMEOUT", "0.5")
    url = f"http://127.0.0.1:{_dead_port()}"
    for args in (_args(_model(tmp_path, 0.1), "b", url, tmp_path), ["--verify", "s3://b", "--model", "m",
                                                                    "--revision", "r1", "--endpoint-url", url]):
        result = run_script("upload_weights", args)
        assert result.exit_code == 1
        assert _one_error_line(result).startswith("error: cannot reach the AWS endpoint after the retry budget: ")


@pytest.mark.parametrize("url", ["127.0.0.1:9000", "ftp://host", "http://", "http://host:99999"])
def test_malformed_endpoint_url_exit_2(tmp_path, url):
    result = run_script("upload_weights", _args(_model(tmp_path, 0.1), "b", url, tmp_path))
    assert result.exit_code == 2
    assert _one_error_line(result).startswith(f"error: --endpoint-url: {url!r} is not an endpoint URL")


@pytest.mark.parametrize("content", ["{truncated", "[]", '{"files": []}', '{"files": {"a": 1}}'])
def test_corrupt_state_file_exit_2(moto_url, tmp_path, bucket_name, content):
    _s3(moto_url).create_bucket(Bucket=bucket_name)
    (tmp_path / "state.json").write_text(content)
    result = run_script("upload_weights", _args(_model(tmp_path, 0.1), bucket_name, moto_url, tmp_path))
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert line.startswith(f"error: --state-file {tmp_path / 'state.json'}: corrupt upload state (")
    assert line.endswith("delete it to start the upload over (objects already complete in the bucket are kept)")


def test_gcs_missing_bucket_exit_2_and_missing_manifest_exit_1(gcp, tmp_path):
    state, url = gcp
    state.missing_buckets.add("nobucket")
    base = ["--model", "m", "--revision", "r1", "--gcs-endpoint", url, "--gcp-anonymous"]
    upload = run_script("upload_weights", [str(_model(tmp_path, 0.1)), "gs://nobucket", *base,
                                           "--state-file", str(tmp_path / "s.json"), "--no-progress"])
    verify = run_script("upload_weights", ["--verify", "gs://nobucket", *base])
    for result in (upload, verify):
        assert result.exit_code == 2
        assert _one_error_line(result) == "error: bucket: gs://nobucket does not exist (create it, or check the name)"
    empty = run_script("upload_weights", ["--verify", "gs://empty", *base])
    assert empty.exit_code == 1
    assert _one_error_line(empty) == ("error: gs://empty/m/r1/manifest.json not found: the revision was never "
                                      "completely uploaded (manifest.json is written last)")
