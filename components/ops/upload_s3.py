"""S3 backend of the weight upload: parallel multipart parts, resume via state file + list_parts, verify."""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from botocore.exceptions import ClientError

from components.ops.clients import pages
from components.ops.upload import (
    HASH_CHUNK, MANIFEST, Destination, LocalFile, Progress, UploadState, report_mismatches,
)

PartHook = Callable[[str, int], None]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Uploader:
    """Uploads files under a destination prefix; one multipart upload per file larger than a part."""

    def __init__(self, s3: Any, dest: Destination, state: UploadState, part_size: int, concurrency: int,
                 progress: Progress, on_part: PartHook | None = None, list_page_size: int | None = None) -> None:
        self.s3, self.dest, self.state, self.part_size = s3, dest, state, part_size
        self.concurrency, self.progress, self.on_part, self.page_size = concurrency, progress, on_part, list_page_size

    def upload(self, files: list[LocalFile]) -> None:
        """Uploads every file not already complete; raises the first part failure (state keeps the rest).

        All parts are queued at once (the pool keeps `concurrency` in flight); each file is completed as soon
        as its own parts are in, so the server assembles objects while later files still stream.
        """
        groups: list[tuple[LocalFile | None, dict | None, list]] = []
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for local in files:
                entry = self.state.file(local)
                if entry.get("done") and self._present(local):
                    self.progress.update(local.size)
                elif local.size <= self.part_size:
                    groups.append((None, None, [pool.submit(self._put_small, local)]))
                else:
                    missing = self._missing_parts(local, entry)
                    groups.append((local, entry, [pool.submit(self._put_part, local, entry["upload_id"], n)
                                                  for n in missing]))
            every = [f for _, _, futures in groups for f in futures]
            for local, entry, futures in groups:
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                failed = next((f for f in done if f.exception() is not None), None)
                if failed is not None:
                    for future in every:
                        future.cancel()
                    raise failed.exception()
                if local is not None:
                    self._complete(local, entry)

    def _key(self, local: LocalFile) -> str:
        return self.dest.prefix + local.rel

    def _present(self, local: LocalFile) -> bool:
        try:
            return self.s3.head_object(Bucket=self.dest.bucket, Key=self._key(local))["ContentLength"] == local.size
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def _put_small(self, local: LocalFile) -> None:
        self.s3.put_object(Bucket=self.dest.bucket, Key=self._key(local), Body=local.path.read_bytes())
        self.state.update(lambda d: d["files"][local.rel].update(done=True))
        self.progress.update(local.size)

    def _server_parts(self, local: LocalFile, upload_id: str) -> dict[int, dict] | None:
        kwargs: dict[str, Any] = {"Bucket": self.dest.bucket, "Key": self._key(local), "UploadId": upload_id}
        if self.page_size:
            kwargs["PaginationConfig"] = {"PageSize": self.page_size}
        try:
            return {p["PartNumber"]: p for page in pages(self.s3, "list_parts", **kwargs) for p in page.get("Parts", [])}
        except ClientError as exc:
            if _code(exc) in ("NoSuchUpload", "404"):
                return None
            raise

    def _expected_size(self, local: LocalFile, number: int) -> int:
        return min(self.part_size, local.size - (number - 1) * self.part_size)

    def _missing_parts(self, local: LocalFile, entry: dict) -> list[int]:
        """Resumes (list_parts is the truth: parts the server holds with the right size are kept) or starts."""
        count = -(-local.size // self.part_size)
        server = self._server_parts(local, entry["upload_id"]) if entry.get("upload_id") else None
        if server is None:
            upload_id = self.s3.create_multipart_upload(Bucket=self.dest.bucket, Key=self._key(local))["UploadId"]
            self.state.update(lambda d: d["files"][local.rel].update(upload_id=upload_id, parts={}))
            return list(range(1, count + 1))
        kept = {str(n): _part_record(p) for n, p in server.items() if p["Size"] == self._expected_size(local, n)}
        self.state.update(lambda d: d["files"][local.rel].update(parts=kept))
        self.progress.update(sum(self._expected_size(local, int(n)) for n in kept))
        return [n for n in range(1, count + 1) if str(n) not in kept]

    def _put_part(self, local: LocalFile, upload_id: str, number: int) -> None:
        size = self._expected_size(local, number)
        fd = os.open(local.path, os.O_RDONLY)
        try:
            body = os.pread(fd, size, (number - 1) * self.part_size)
        finally:
            os.close(fd)
        reply = self.s3.upload_part(Bucket=self.dest.bucket, Key=self._key(local), UploadId=upload_id,
                                    PartNumber=number, Body=body)
        record = _part_record(reply)
        self.state.update(lambda d: d["files"][local.rel]["parts"].__setitem__(str(number), record))
        self.progress.update(size)
        if self.on_part is not None:
            self.on_part(local.rel, number)

    def _complete(self, local: LocalFile, entry: dict) -> None:
        parts = [{"PartNumber": int(n), **p} for n, p in sorted(entry["parts"].items(), key=lambda kv: int(kv[0]))]
        self.s3.complete_multipart_upload(Bucket=self.dest.bucket, Key=self._key(local),
                                          UploadId=entry["upload_id"], MultipartUpload={"Parts": parts})
        self.state.update(lambda d: d["files"][local.rel].update(done=True))

    def put_manifest(self, body: dict) -> None:
        """Writes manifest.json (last: its presence means the revision is complete)."""
        self.s3.put_object(Bucket=self.dest.bucket, Key=self.dest.prefix + MANIFEST,
                           Body=json.dumps(body, indent=1).encode(), ContentType="application/json")


def _part_record(part: dict) -> dict:
    """ETag plus the part checksum S3 returned (needed by complete_multipart_upload when one was used)."""
    return {"ETag": part["ETag"], **{k: part[k] for k in ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumSHA1",
                                                          "ChecksumSHA256", "ChecksumCRC64NVME") if part.get(k)}}


def read_manifest(s3: Any, dest: Destination) -> dict:
    """Reads <prefix>manifest.json."""
    return json.loads(s3.get_object(Bucket=dest.bucket, Key=dest.prefix + MANIFEST)["Body"].read())


def verify(s3: Any, dest: Destination, progress: Progress | None = None) -> tuple[dict, list[str]]:
    """Checks every manifest entry: size via HEAD, sha256 by streaming the object. Returns (manifest, problems)."""
    expected = read_manifest(s3, dest)
    actual: dict[str, tuple[int | None, str | None]] = {}
    for entry in expected["files"]:
        key = dest.prefix + entry["path"]
        try:
            size = s3.head_object(Bucket=dest.bucket, Key=key)["ContentLength"]
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                continue
            raise
        digest = hashlib.sha256()
        if size == entry["size"]:
            for chunk in s3.get_object(Bucket=dest.bucket, Key=key)["Body"].iter_chunks(HASH_CHUNK):
                digest.update(chunk)
                if progress:
                    progress.update(len(chunk))
        actual[entry["path"]] = (size, digest.hexdigest())
    return expected, report_mismatches(expected, actual)
