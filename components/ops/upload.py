"""Model weight upload: file selection, manifest, progress, resume state; backends in upload_s3 / upload_gcs."""
from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.ops.errors import OpsError
from components.plan.names import model_prefix

#: What the serving init container accepts (components/k8s/sync_weights.py refuses pickle and dot-paths).
ALLOWED_SUFFIXES = (".safetensors", ".json", ".txt")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
MANIFEST = "manifest.json"
HASH_CHUNK = 8 * 1024 * 1024
MIB = 1024 * 1024


@dataclass(frozen=True)
class LocalFile:
    """One file to upload: absolute path, manifest path (POSIX, relative), size in bytes."""

    path: Path
    rel: str
    size: int


@dataclass(frozen=True)
class Destination:
    """Where a model revision goes: scheme "s3" | "gs", bucket, key prefix ending in "/"."""

    scheme: str
    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        """The destination as a URL."""
        return f"{self.scheme}://{self.bucket}/{self.prefix}"


def parse_destination(url: str, model: str, revision: str) -> Destination:
    """Parses s3://bucket[/base] or gs://bucket[/base] into <bucket>/<base/><model>/<revision>/."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("s3", "gs") or not rest.strip("/"):
        raise OpsError(f"bucket: {url!r} must be s3://<bucket> or gs://<bucket> (optionally /<base prefix>)")
    bucket, _, base = rest.partition("/")
    base = base.strip("/")
    return Destination(scheme, bucket, (f"{base}/" if base else "") + model_prefix(model, revision))


def select_files(model_dir: Path, allow_pickle: bool = False) -> tuple[list[LocalFile], list[str]]:
    """Returns (files to upload sorted by path, skipped paths); refuses pickle weights unless allowed.

    Raises:
        OpsError: pickle files without allow_pickle, or no weights at all.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise OpsError(f"model directory {model_dir} does not exist")
    files, skipped, pickles = [], [], []
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(model_dir).as_posix()
        hidden = any(part.startswith(".") for part in Path(rel).parts)
        if hidden or rel == MANIFEST:
            skipped.append(rel)
        elif path.suffix.lower() in PICKLE_SUFFIXES:
            pickles.append(rel)
            if allow_pickle:
                files.append(LocalFile(path, rel, path.stat().st_size))
        elif path.suffix.lower() in ALLOWED_SUFFIXES:
            files.append(LocalFile(path, rel, path.stat().st_size))
        else:
            skipped.append(rel)
    if pickles and not allow_pickle:
        raise OpsError(f"refusing pickle weights (arbitrary code on load): {', '.join(pickles)}; convert to "
                       "safetensors or pass --allow-pickle")
    if not any(f.rel.endswith(".safetensors") or f.rel.endswith(PICKLE_SUFFIXES) for f in files):
        raise OpsError(f"{model_dir}: no .safetensors weights found")
    return files, skipped


def sha256_file(path: Path) -> str:
    """Returns the hex sha256 of a file (read in 8 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(HASH_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def manifest(model: str, revision: str, files: list[LocalFile], digests: dict[str, str]) -> dict:
    """Builds manifest.json exactly as the serving init container reads it."""
    return {"model": model, "revision": revision,
            "files": [{"path": f.rel, "size": f.size, "sha256": digests[f.rel]} for f in files]}


class Progress:
    """Byte progress: tqdm when installed, else one stderr line refreshed at most twice a second."""

    def __init__(self, total: int, label: str, enabled: bool = True) -> None:
        self._lock, self._done, self._total, self._label = threading.Lock(), 0, total, label
        self._last, self._start, self._enabled, self._bar = 0.0, time.monotonic(), enabled, None
        if enabled:
            try:
                from tqdm import tqdm
                self._bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label)
            except ImportError:
                self._bar = None

    def update(self, n: int) -> None:
        """Adds n bytes."""
        with self._lock:
            self._done += n
            if not self._enabled:
                return
            if self._bar is not None:
                self._bar.update(n)
                return
            now = time.monotonic()
            if now - self._last >= 0.5 or self._done >= self._total:
                self._last = now
                self._line(now)

    def _line(self, now: float) -> None:
        rate = self._done / MIB / max(now - self._start, 1e-6)
        pct = 100.0 * self._done / self._total if self._total else 100.0
        end = "\r" if sys.stderr.isatty() and self._done < self._total else "\n"
        print(f"{self._label}: {self._done / MIB:,.1f}/{self._total / MIB:,.1f} MiB ({pct:.0f}%) "
              f"{rate:,.1f} MiB/s", end=end, file=sys.stderr, flush=True)

    def close(self) -> None:
        """Finishes the bar."""
        if self._bar is not None:
            self._bar.close()


class UploadState:
    """Resume state persisted as JSON after every completed part (atomic rename), keyed by file path."""

    def __init__(self, path: Path, destination: str, part_size: int) -> None:
        self.path, self._lock = Path(path), threading.Lock()
        data: dict[str, Any] = {}
        if self.path.exists():
            data = json.loads(self.path.read_text())
        if data.get("destination") != destination or data.get("part_size") != part_size:
            data = {"destination": destination, "part_size": part_size, "files": {}}
        self.data = data

    def file(self, local: LocalFile) -> dict:
        """The state of one file; reset when the local file changed (size or mtime)."""
        stat = local.path.stat()
        with self._lock:
            entry = self.data["files"].get(local.rel)
            if not entry or entry.get("size") != local.size or entry.get("mtime_ns") != stat.st_mtime_ns:
                entry = {"size": local.size, "mtime_ns": stat.st_mtime_ns, "parts": {}}
                self.data["files"][local.rel] = entry
            return entry

    def update(self, mutate: Callable[[dict], None]) -> None:
        """Applies mutate(data) and saves."""
        with self._lock:
            mutate(self.data)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
            os.replace(tmp, self.path)

    def clear(self) -> None:
        """Removes the state file (after a complete upload)."""
        self.path.unlink(missing_ok=True)


def default_state_path(model_dir: Path, destination: Destination) -> Path:
    """~/.cache/gpuinfra/uploads/<digest of source and destination>.json (override with --state-file)."""
    key = hashlib.sha256(f"{Path(model_dir).resolve()}|{destination.url}".encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "gpuinfra" / "uploads" / f"{key}.json"


def report_mismatches(expected: dict, actual: dict[str, tuple[int | None, str | None]]) -> list[str]:
    """Compares manifest entries with (size, sha256) found in the bucket; returns one line per mismatch."""
    problems = []
    for entry in expected["files"]:
        size, digest = actual.get(entry["path"], (None, None))
        if size is None:
            problems.append(f"{entry['path']}: missing")
        elif size != entry["size"]:
            problems.append(f"{entry['path']}: size {size} != manifest {entry['size']}")
        elif digest != entry["sha256"]:
            problems.append(f"{entry['path']}: sha256 {digest} != manifest {entry['sha256']}")
    return problems
