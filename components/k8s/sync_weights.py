#!/usr/bin/env python3
"""Init-container weight sync: bucket ``<model>/<revision>/`` -> node-local NVMe, verified against manifest.json.

Standalone (standard library only): shipped verbatim in a ConfigMap and run by ``python3`` in the init
container. The copy itself is done by a real fast copier: ``s5cmd`` for ``s3://`` (parallel ranged GETs)
or ``gcloud storage cp`` for ``gs://`` (sliced downloads).

Manifest format (written by the upload script, ``<prefix>manifest.json``)::

    {"model": "llama-8b", "revision": "<sha>", "files": [{"path": "config.json", "size": 654, "sha256": "<hex>"}]}

Protocol for ``<cache>/models/<model>/<revision>``: (1) exclusive ``flock`` on ``<cache>/models/<model>/
.<revision>.lock`` (pods on one node wait, then find the copy complete: one download per node); (2) skip when
``.complete`` holds the manifest's sha256 and every file has its size; (3) refuse pickle files (.bin/.pt/.pth/
.pkl) and unsafe paths before downloading; (4) keep files whose sha256 matches (resume), fetch the rest into
``.partial/``, verify, move into place; (5) write ``.complete`` last (its mtime is refreshed on every use);
(6) prune: delete the model's other revisions under ``<cache>/models/<model>/`` unless ``--keep`` names them (the
plan's active and canary revisions), their lock is held (a sync in progress) or they were used within
``--prune-grace`` seconds (a pod of a rollout in progress). The EKS cache shares the node's RAID0 with kubelet
and containerd, so old revisions must not pile up.
Exit codes: 0 ok, 2 bad manifest or refused file, 3 checksum/size mismatch (no ``.complete``), 4 copier failure.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import errno
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path, PurePosixPath

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
COMPLETE = ".complete"
PARTIAL = ".partial"
CHUNK = 8 * 1024 * 1024
#: Concurrent ``gcloud storage cp`` processes (each already parallelises slices of a large object).
GCLOUD_PARALLEL = 8
#: A revision used by a pod this recently (seconds) is kept even when the plan no longer names it.
PRUNE_GRACE_SECONDS = 3600


class SyncError(Exception):
    """A refusal with an exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def log(event: str, **fields: object) -> None:
    """One JSON line per event on stderr (the pod log)."""
    print(json.dumps({"event": event, **fields}, sort_keys=True), file=sys.stderr, flush=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def check_manifest(manifest: dict) -> list[dict]:
    """The manifest's files after the safety checks (raises SyncError(2))."""
    files = manifest.get("files")
    if not isinstance(files, list) or not files:
        raise SyncError(2, "manifest.json has no 'files' list")
    for entry in files:
        path = str(entry.get("path", ""))
        pure = PurePosixPath(path)
        if not path or pure.is_absolute() or ".." in pure.parts or path.startswith("."):
            raise SyncError(2, f"refusing unsafe path {path!r} in manifest.json")
        if path.lower().endswith(PICKLE_SUFFIXES):
            raise SyncError(2, f"refusing pickle file {path!r}: only safetensors weights are served")
        if not isinstance(entry.get("size"), int) or len(str(entry.get("sha256", ""))) != 64:
            raise SyncError(2, f"manifest entry {path!r} needs an integer size and a sha256")
    return files


def pod_identity_env() -> dict[str, str]:
    """Static AWS credentials from the EKS Pod Identity agent, for copiers whose SDK predates it.

    s5cmd v2.3.0 is built with aws-sdk-go v1.44 (no AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE support), so
    the agent's credentials are fetched here and passed as environment variables for this one run.
    """
    uri, token_file = os.environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"), os.environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    if not uri or not token_file:
        return {}
    request = urllib.request.Request(uri, headers={"Authorization": Path(token_file).read_text().strip()})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (link-local agent URL)
        creds = json.load(response)
    return {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["Token"]}


class Copier:
    """Runs the external copy tool."""

    def __init__(self, kind: str, binary: str, endpoint_url: str | None, workers: int) -> None:
        self.kind, self.binary, self.endpoint_url, self.workers = kind, binary, endpoint_url, workers
        self.env = {**os.environ, **(pod_identity_env() if kind == "s5cmd" else {})}

    def _run(self, argv: list[str]) -> None:
        result = subprocess.run(argv, env=self.env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SyncError(4, f"{self.kind} failed ({result.returncode}): {result.stderr.strip()[-500:]}")

    def fetch(self, pairs: list[tuple[str, Path]]) -> None:
        """Download each ``(source URL, local path)``."""
        for _, dest in pairs:
            dest.parent.mkdir(parents=True, exist_ok=True)
        if self.kind == "gcloud":
            # One process per object, several at a time (s5cmd's --numworkers does the same for S3).
            with concurrent.futures.ThreadPoolExecutor(max(1, min(self.workers, GCLOUD_PARALLEL))) as pool:
                jobs = [pool.submit(self._run, [self.binary, "storage", "cp", src, str(dest)]) for src, dest in pairs]
                for job in jobs:
                    job.result()
            return
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as commands:
            commands.writelines(f'cp "{src}" "{dest}"\n' for src, dest in pairs)
        head = [self.binary] + (["--endpoint-url", self.endpoint_url] if self.endpoint_url else [])
        try:
            self._run([*head, "--numworkers", str(self.workers), "run", commands.name])
        finally:
            os.unlink(commands.name)


def is_complete(dest: Path, manifest_sha: str, files: list[dict]) -> bool:
    """The marker matches this manifest and every file has its size (hashes were checked on download)."""
    marker = dest / COMPLETE
    if not marker.exists() or marker.read_text().strip() != manifest_sha:
        return False
    return all((dest / f["path"]).is_file() and (dest / f["path"]).stat().st_size == f["size"] for f in files)


def sync(source: str, dest: Path, copier: Copier) -> dict:
    """Make ``dest`` a verified copy of ``source`` (caller holds the lock). Returns counters."""
    source = source.rstrip("/") + "/"
    dest.mkdir(parents=True, exist_ok=True)
    staging = dest / PARTIAL
    staging.mkdir(exist_ok=True)
    copier.fetch([(source + "manifest.json", staging / "manifest.json")])
    raw = (staging / "manifest.json").read_bytes()
    manifest_sha = hashlib.sha256(raw).hexdigest()
    try:
        files = check_manifest(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise SyncError(2, f"manifest.json is not JSON: {exc}") from None
    if is_complete(dest, manifest_sha, files):
        os.utime(dest / COMPLETE)  # last use, read by prune()
        log("skip", reason="complete", files=len(files))
        return {"downloaded": 0, "kept": len(files), "skipped": True}
    (dest / COMPLETE).unlink(missing_ok=True)
    todo = [f for f in files if not _verified(dest / f["path"], f)]
    log("plan", files=len(files), download=len(todo), keep=len(files) - len(todo))
    copier.fetch([(source + f["path"], staging / f["path"]) for f in todo])
    for entry in todo:
        _check_and_place(staging / entry["path"], dest / entry["path"], entry)
    shutil.copyfile(staging / "manifest.json", dest / "manifest.json")
    shutil.rmtree(staging, ignore_errors=True)
    (dest / COMPLETE).write_text(manifest_sha + "\n")
    log("complete", downloaded=len(todo), kept=len(files) - len(todo))
    return {"downloaded": len(todo), "kept": len(files) - len(todo), "skipped": False}


def _verified(path: Path, entry: dict) -> bool:
    return path.is_file() and path.stat().st_size == entry["size"] and sha256_of(path) == entry["sha256"]


def _check_and_place(staged: Path, final: Path, entry: dict) -> None:
    size = staged.stat().st_size if staged.is_file() else -1
    if size != entry["size"]:
        staged.unlink(missing_ok=True)
        raise SyncError(3, f"size mismatch for {entry['path']}: got {size}, manifest says {entry['size']}")
    actual = sha256_of(staged)
    if actual != entry["sha256"]:
        staged.unlink(missing_ok=True)
        raise SyncError(3, f"sha256 mismatch for {entry['path']}: got {actual}, manifest says {entry['sha256']}")
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, final)


def _last_use(revision: Path) -> float:
    """Newest mtime of a revision directory, its ``.complete`` marker and its ``.partial`` download area."""
    times = [revision.stat().st_mtime]
    for child in (revision / COMPLETE, revision / PARTIAL):
        if child.exists():
            times.append(child.stat().st_mtime)
    return max(times)


def prune(model_dir: Path, keep: set[str], grace_seconds: float, now: float | None = None) -> list[str]:
    """Delete revisions of one model the node no longer serves; returns the removed revision names.

    Kept: revisions in ``keep``; revisions whose lock another process holds (being synced); revisions used
    within ``grace_seconds`` (``.complete`` is touched whenever a pod starts on it). Lock files stay (an open
    lock file that is unlinked would let two syncs of one revision run at once).
    """
    now = time.time() if now is None else now
    removed = []
    for revision in sorted(p for p in model_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if revision.name in keep or now - _last_use(revision) < grace_seconds:
            continue
        with (model_dir / f".{revision.name}.lock").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    log("prune-skip", revision=revision.name, reason="locked")
                    continue
                raise
            shutil.rmtree(revision)
        removed.append(revision.name)
        log("pruned", revision=revision.name)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="s3://bucket/model/revision/ or gs://...")
    parser.add_argument("--dest", required=True, type=Path, help="<cache>/models/<model>/<revision>")
    parser.add_argument("--copier", choices=("s5cmd", "gcloud"), default="s5cmd")
    parser.add_argument("--binary", help="copier executable (default: s5cmd / gcloud on PATH)")
    parser.add_argument("--endpoint-url", default=os.environ.get("S3_ENDPOINT_URL"))
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--keep", action="append", default=[],
                        help="revision of this model to keep in the cache (repeat; the synced one is always kept)")
    parser.add_argument("--prune", action="store_true", help="delete the model's other revisions (see --keep)")
    parser.add_argument("--prune-grace", type=float, default=PRUNE_GRACE_SECONDS,
                        help="keep revisions used within this many seconds")
    args = parser.parse_args(argv)
    args.dest.parent.mkdir(parents=True, exist_ok=True)
    lock_path = args.dest.parent / f".{args.dest.name}.lock"
    started = time.monotonic()
    with lock_path.open("a") as lock:
        log("lock-wait", lock=str(lock_path))
        fcntl.flock(lock, fcntl.LOCK_EX)
        log("lock-held", waited_s=round(time.monotonic() - started, 2))
        try:
            copier = Copier(args.copier, args.binary or args.copier, args.endpoint_url, args.workers)
            result = sync(args.source, args.dest, copier)
        except SyncError as exc:
            log("refused" if exc.code in (2, 3) else "error", code=exc.code, message=str(exc))
            return exc.code
    if args.prune:  # after our lock is released: prune() takes each other revision's lock itself
        prune(args.dest.parent, {args.dest.name, *args.keep}, args.prune_grace)
    log("done", seconds=round(time.monotonic() - started, 2), **result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
