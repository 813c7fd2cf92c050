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
from components.ops.errors import EXIT_FAILED, OpsError
from components.ops.upload import (
    HASH_CHUNK, MANIFEST, Destination, LocalFile, Progress, UploadState, parse_manifest, report_mismatches,
)

#: User metadata holding the file's sha256 (x-amz-meta-sha256): lets a rerun recognise a complete object
#: whatever the bucket's encryption does to ETags (SSE-KMS ETags are not MD5s; S3 "Checking object integrity").
SHA_META = "sha256"

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

        A file whose object is already in the bucket with its size and sha256 is not sent again (also when the
        run was killed between the server completing the upload and the state recording it). Multipart uploads
        the state no longer needs (file edited or gone) are aborted first. All parts are queued at once (the
        pool keeps `concurrency` in flight); each file is completed as soon as its own parts are in.
        """
        check_bucket(self.s3, self.dest)
        entries = {local.rel: self.state.file(local) for local in files}
        self._abort_unneeded(set(entries))
        groups: list[tuple[LocalFile | None, dict | None, list]] = []
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for local in files:
                entry = entries[local.rel]
                if self._complete_in_bucket(local, entry):
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

    def _abort(self, rel: str, upload_id: str) -> None:
        try:
            self.s3.abort_multipart_upload(Bucket=self.dest.bucket, Key=self.dest.prefix + rel, UploadId=upload_id)
        except ClientError as exc:
            if _code(exc) not in ("NoSuchUpload", "404"):
                raise

    def _abort_unneeded(self, wanted: set[str]) -> None:
        """Aborts multipart uploads of edited files ("abandoned") and of files no longer uploaded."""
        stale = [(a["path"], a["upload_id"]) for a in self.state.data.get("abandoned", [])]
        stale += [(rel, e["upload_id"]) for rel, e in self.state.data["files"].items()
                  if rel not in wanted and e.get("upload_id") and not e.get("done")]
        for rel, upload_id in stale:
            self._abort(rel, upload_id)
        gone = {rel for rel, _ in stale if rel not in wanted}

        def forget(data: dict) -> None:
            data["abandoned"] = []
            for rel in gone:
                data["files"].pop(rel, None)
        self.state.update(forget)

    def _complete_in_bucket(self, local: LocalFile, entry: dict) -> bool:
        """True when the object holds this file (size, and sha256 metadata or the multipart ETag of the
        recorded parts); then the state is marked done and a dangling upload id is aborted."""
        try:
            head = self.s3.head_object(Bucket=self.dest.bucket, Key=self._key(local))
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        if head["ContentLength"] != local.size:
            return False
        digest = head.get("Metadata", {}).get(SHA_META)
        if digest is not None:
            same = digest == entry.get("sha256")
        else:  # objects written before the metadata existed: compare the multipart ETag of the recorded parts
            same = bool(entry.get("parts")) and head.get("ETag", "").strip('"') == _multipart_etag(entry["parts"])
        if not same:
            return False
        if entry.get("upload_id") and not entry.get("done"):
            self._abort(local.rel, entry["upload_id"])
        self.state.update(lambda d: d["files"][local.rel].update(done=True))
        return True

    def _meta(self, local: LocalFile) -> dict[str, str]:
        digest = self.state.file(local).get("sha256")
        return {SHA_META: digest} if digest else {}

    def _put_small(self, local: LocalFile) -> None:
        self.s3.put_object(Bucket=self.dest.bucket, Key=self._key(local), Body=local.path.read_bytes(),
                           Metadata=self._meta(local))
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
            upload_id = self.s3.create_multipart_upload(Bucket=self.dest.bucket, Key=self._key(local),
                                                        Metadata=self._meta(local))["UploadId"]
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


def _multipart_etag(parts: dict) -> str:
    """S3's multipart ETag: md5 of the concatenated binary part MD5s, "-" and the part count (S3 user guide,
    "Checking object integrity", multipart ETags; holds for SSE-S3/unencrypted objects)."""
    try:
        joined = b"".join(bytes.fromhex(parts[n]["ETag"].strip('"'))
                          for n in sorted(parts, key=int))
    except ValueError:
        return ""
    return f"{hashlib.md5(joined).hexdigest()}-{len(parts)}"  # noqa: S324 - S3's ETag algorithm, not security


def check_bucket(s3: Any, dest: Destination) -> None:
    """HEAD the bucket once so a missing one is a clear input error, not a failure halfway.

    Raises:
        OpsError: the bucket does not exist (exit 2) or may not be read (exit 2).
    """
    try:
        s3.head_bucket(Bucket=dest.bucket)
    except ClientError as exc:
        if _code(exc) in ("404", "NoSuchBucket", "NotFound"):
            raise OpsError(f"bucket: s3://{dest.bucket} does not exist (create it, or check the name and "
                           "--region)") from None
        if _code(exc) in ("403", "AccessDenied"):
            raise OpsError(f"AWS permission denied on HeadBucket: s3://{dest.bucket} (403)") from None
        raise


def _part_record(part: dict) -> dict:
    """ETag plus the part checksum S3 returned (needed by complete_multipart_upload when one was used)."""
    return {"ETag": part["ETag"], **{k: part[k] for k in ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumSHA1",
                                                          "ChecksumSHA256", "ChecksumCRC64NVME") if part.get(k)}}


def read_manifest(s3: Any, dest: Destination) -> dict:
    """Reads and checks <prefix>manifest.json.

    Raises:
        OpsError: missing (exit 1: the revision was never completely uploaded) or corrupt (exit 1).
    """
    where = f"{dest.url}{MANIFEST}"
    try:
        raw = s3.get_object(Bucket=dest.bucket, Key=dest.prefix + MANIFEST)["Body"].read()
    except ClientError as exc:
        if _code(exc) in ("NoSuchKey", "404"):
            raise OpsError(f"{where} not found: the revision was never completely uploaded (manifest.json is "
                           "written last)", EXIT_FAILED) from None
        raise
    return parse_manifest(raw, where)


def verify(s3: Any, dest: Destination, progress: Progress | None = None) -> tuple[dict, list[str]]:
    """Checks every manifest entry: size via HEAD, sha256 by streaming the object. Returns (manifest, problems)."""
    check_bucket(s3, dest)
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
