"""gs:// backend of the weight upload: parallel resumable uploads per object, per-object resume, verify."""
from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from components.ops.upload import (
    MANIFEST, Destination, LocalFile, Progress, UploadState, parse_manifest, report_mismatches,
)

#: Resumable-upload chunks must be multiples of 256 KiB (google-cloud-storage Blob.chunk_size docs).
CHUNK_QUANTUM = 256 * 1024


class _Hasher:
    """A write-only file object that hashes what the download writes."""

    def __init__(self, progress: Progress | None) -> None:
        self.digest, self.progress = hashlib.sha256(), progress

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        if self.progress:
            self.progress.update(len(data))
        return len(data)


class GcsUploader:
    """Uploads files with the client's resumable protocol (chunk = part size); several objects in parallel.

    Resume is per object: objects recorded done whose size matches in the bucket are skipped; an object cut
    mid-way restarts (within one run, the resumable protocol already retries failed chunks).
    """

    def __init__(self, client: Any, dest: Destination, state: UploadState, part_size: int, concurrency: int,
                 progress: Progress) -> None:
        self.client, self.bucket = client, client.bucket(dest.bucket)
        self.dest, self.state, self.concurrency, self.progress = dest, state, concurrency, progress
        self.chunk = max(CHUNK_QUANTUM, part_size // CHUNK_QUANTUM * CHUNK_QUANTUM)

    def upload(self, files: list[LocalFile]) -> None:
        """Uploads every file not already complete (first failure re-raised after the others finish)."""
        check_bucket(self.client, self.dest)
        todo = []
        for local in files:
            if self.state.file(local).get("done") and self._size(local.rel) == local.size:
                self.progress.update(local.size)
            else:
                todo.append(local)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for _ in pool.map(self._put, todo):
                pass

    def _size(self, rel: str) -> int | None:
        blob = self.bucket.get_blob(self.dest.prefix + rel)
        return None if blob is None else blob.size

    def _put(self, local: LocalFile) -> None:
        blob = self.bucket.blob(self.dest.prefix + local.rel, chunk_size=self.chunk)
        blob.upload_from_filename(str(local.path))
        self.state.update(lambda d: d["files"][local.rel].update(done=True))
        self.progress.update(local.size)

    def put_manifest(self, body: dict) -> None:
        """Writes manifest.json last."""
        self.bucket.blob(self.dest.prefix + MANIFEST).upload_from_string(
            json.dumps(body, indent=1), content_type="application/json")


def check_bucket(client: Any, dest: Destination) -> None:
    """Looks the bucket up once (buckets.get) so a missing one is a clear input error.

    Raises:
        OpsError: no such bucket (exit 2).
    """
    from components.ops.errors import OpsError
    if client.lookup_bucket(dest.bucket) is None:
        raise OpsError(f"bucket: gs://{dest.bucket} does not exist (create it, or check the name)")


def verify(client: Any, dest: Destination, progress: Progress | None = None) -> tuple[dict, list[str]]:
    """Checks every manifest entry: size from object metadata, sha256 by streaming the download."""
    from google.api_core import exceptions as gexc

    from components.ops.errors import EXIT_FAILED, OpsError
    check_bucket(client, dest)
    bucket = client.bucket(dest.bucket)
    where = f"{dest.url}{MANIFEST}"
    try:
        raw = bucket.blob(dest.prefix + MANIFEST).download_as_bytes()
    except gexc.NotFound:
        raise OpsError(f"{where} not found: the revision was never completely "
                       "uploaded (manifest.json is written last)", EXIT_FAILED) from None
    expected = parse_manifest(raw, where)
    actual: dict[str, tuple[int | None, str | None]] = {}
    for entry in expected["files"]:
        blob = bucket.get_blob(dest.prefix + entry["path"])
        if blob is None:
            continue
        hasher = _Hasher(progress)
        if blob.size == entry["size"]:
            blob.download_to_file(hasher, checksum=None)
        actual[entry["path"]] = (blob.size, hasher.digest.hexdigest())
    return expected, report_mismatches(expected, actual)
