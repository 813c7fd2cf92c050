"""Entry points of the weight upload: upload_model (files, then manifest.json last) and verify_model."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.catalog.vocab import AWS, BUCKET_SCHEME
from components.ops import upload_gcs, upload_s3
from components.ops.errors import OpsError
from components.ops.upload import (
    Destination, Progress, UploadState, default_state_path, manifest, parse_destination, select_files, sha256_file,
)

DEFAULT_PART_MIB = 64
DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True)
class UploadSummary:
    """What an upload did."""

    destination: str
    files: int
    bytes: int
    skipped: list[str]
    manifest: dict


def _digests(files: list, state: UploadState) -> dict[str, str]:
    """sha256 per file, cached in the state file so a resumed run does not hash again."""
    digests = {}
    for local in files:
        entry = state.file(local)
        if not entry.get("sha256"):
            digest = sha256_file(local.path)
            state.update(lambda d, rel=local.rel, h=digest: d["files"][rel].update(sha256=h))
        digests[local.rel] = state.file(local)["sha256"]
    return digests


def _backend(dest: Destination, s3: Any, gcs: Any) -> Any:
    client = s3 if dest.scheme == BUCKET_SCHEME[AWS] else gcs
    if client is None:
        raise OpsError(f"no {dest.scheme} client configured")
    return client


def upload_model(model_dir: Path, bucket: str, model: str, revision: str, *, s3: Any = None, gcs: Any = None,
                 part_size: int = DEFAULT_PART_MIB * 1024 * 1024, concurrency: int = DEFAULT_CONCURRENCY,
                 allow_pickle: bool = False, state_file: Path | None = None, show_progress: bool = True,
                 on_part: Any = None, list_page_size: int | None = None) -> UploadSummary:
    """Uploads a model directory to <bucket>/<model>/<revision>/ and writes manifest.json last.

    Args:
        s3 / gcs: The boto3 S3 client / google-cloud-storage client for the bucket's scheme.
        part_size: Multipart part size (S3, >= 5 MiB except the last) or resumable chunk size (GCS), bytes.
        state_file: Resume state (default under ~/.cache/gpuinfra/uploads); removed after success.
        on_part: Test hook called (path, part number) after each S3 part is recorded.

    Raises:
        OpsError: refused files, bad destination. Cloud errors propagate (an interrupted run resumes).
    """
    dest = parse_destination(bucket, model, revision)
    client = _backend(dest, s3, gcs)
    files, skipped = select_files(Path(model_dir), allow_pickle)
    state = UploadState(state_file or default_state_path(Path(model_dir), dest), dest.url, part_size)
    digests = _digests(files, state)
    total = sum(f.size for f in files)
    progress = Progress(total, f"upload {dest.url}", enabled=show_progress)
    try:
        if dest.scheme == BUCKET_SCHEME[AWS]:
            uploader: Any = upload_s3.S3Uploader(client, dest, state, part_size, concurrency, progress, on_part,
                                                 list_page_size)
        else:
            uploader = upload_gcs.GcsUploader(client, dest, state, part_size, concurrency, progress)
        uploader.upload(files)
        body = manifest(model, revision, files, digests)
        uploader.put_manifest(body)
    finally:
        progress.close()
    state.clear()
    return UploadSummary(dest.url, len(files), total, skipped, body)


def verify_model(bucket: str, model: str, revision: str, *, s3: Any = None, gcs: Any = None,
                 show_progress: bool = False) -> tuple[dict, list[str]]:
    """Re-checks a bucket copy against its manifest.json; returns (manifest, mismatch lines)."""
    dest = parse_destination(bucket, model, revision)
    client = _backend(dest, s3, gcs)
    module = upload_s3 if dest.scheme == BUCKET_SCHEME[AWS] else upload_gcs
    progress = Progress(0, f"verify {dest.url}", enabled=False) if not show_progress else None
    return module.verify(client, dest, progress)
