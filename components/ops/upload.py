"""Model weight upload: file selection, manifest, progress, resume state; backends in upload_s3 / upload_gcs."""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.catalog.vocab import BUCKET_SCHEME
from components.ops.errors import EXIT_FAILED, OpsError
from components.plan.names import model_prefix

#: What the serving init container accepts (components/k8s/sync_weights.py refuses pickle and dot-paths).
ALLOWED_SUFFIXES = (".safetensors", ".json", ".txt")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
MANIFEST = "manifest.json"
HASH_CHUNK = 8 * 1024 * 1024
MIB = 1024 * 1024
#: A Hugging Face revision is a commit sha (40 hex) or a branch/tag name. Names follow git's ref-name rules
#: (git-check-ref-format(1): no control characters, space, ~ ^ : ? * [ backslash, no "..", "@{", no leading "." or
#: trailing "." / ".lock"); on top of them "/" and "%" are refused here because the revision becomes one
#: level of the object key (<model>/<revision>/): a separator or an encoded one would let it leave the prefix.
COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
REF_NAME = re.compile(r"[A-Za-z0-9_+=,!#$&'()][A-Za-z0-9_+=,!#$&'()@.\-]{0,199}")
#: Model names are one key level too (the serving side reads <model>/<revision>/manifest.json).
MODEL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}")


def check_revision(revision: str) -> str:
    """Returns the revision when Hugging Face would accept it and it stays one key level; raises otherwise.

    Raises:
        OpsError: naming --revision, the value and what is allowed (exit 2).
    """
    if COMMIT_SHA.fullmatch(revision):
        return revision
    ok = (REF_NAME.fullmatch(revision) is not None and ".." not in revision and "@{" not in revision
          and revision != "@" and not revision.endswith((".", ".lock")))
    if not ok:
        raise OpsError(f"--revision: {revision!r} is not a Hugging Face revision: use the 40-hex commit sha or a "
                       "tag/branch name (letters, digits, . _ - and git ref-name punctuation; no whitespace, no / "
                       "or \\, no '..', not starting with '.' nor ending with '.' or '.lock')")
    return revision


def check_model(model: str) -> str:
    """Returns the model name when it is one key level (letters, digits, . _ -; no '..'); raises otherwise.

    Raises:
        OpsError: naming --model, the value and what is allowed (exit 2).
    """
    if MODEL_NAME.fullmatch(model) is None or ".." in model:
        raise OpsError(f"--model: {model!r} must be one key level: letters, digits, '.', '_' and '-', starting "
                       "with a letter or digit, no '..' (e.g. llama-8b)")
    return model


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
    if not sep or scheme not in BUCKET_SCHEME.values() or not rest.strip("/"):
        raise OpsError(f"bucket: {url!r} must be s3://<bucket> or gs://<bucket> (optionally /<base prefix>)")
    check_model(model)
    check_revision(revision)
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


def _read_state(path: Path) -> dict[str, Any]:
    """The saved state, {} when there is none.

    Raises:
        OpsError: a file that is not a state this script wrote (exit 2, with the way out).
    """
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict) or \
                not all(isinstance(e, dict) and isinstance(e.get("parts", {}), dict) for e in data["files"].values()):
            raise ValueError("not an upload state object")
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise OpsError(f"--state-file {path}: corrupt upload state ({str(exc).splitlines()[0]}); delete it to "
                       "start the upload over (objects already complete in the bucket are kept)") from None
    return data


class UploadState:
    """Resume state persisted as JSON after every completed part (atomic rename), keyed by file path.

    Multipart uploads the state stops tracking (a local file changed, the part size changed) are listed under
    "abandoned" so the uploader aborts them instead of leaving them billed in the bucket.
    """

    def __init__(self, path: Path, destination: str, part_size: int) -> None:
        self.path, self._lock = Path(path), threading.Lock()
        data = _read_state(self.path)
        if data.get("destination") != destination or data.get("part_size") != part_size:
            same_place = data.get("destination") == destination
            data = {"destination": destination, "part_size": part_size, "files": {},
                    "abandoned": [*data.get("abandoned", []), *(_open_uploads(data) if same_place else [])]}
        self.data = data

    def file(self, local: LocalFile) -> dict:
        """The state of one file; reset when the local file changed (size or mtime)."""
        stat = local.path.stat()
        with self._lock:
            entry = self.data["files"].get(local.rel)
            if not entry or entry.get("size") != local.size or entry.get("mtime_ns") != stat.st_mtime_ns:
                if entry and entry.get("upload_id") and not entry.get("done"):
                    self.data.setdefault("abandoned", []).append({"path": local.rel, "upload_id": entry["upload_id"]})
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


def _open_uploads(data: dict) -> list[dict]:
    return [{"path": rel, "upload_id": e["upload_id"]} for rel, e in data.get("files", {}).items()
            if e.get("upload_id") and not e.get("done")]


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


def parse_manifest(raw: bytes, where: str) -> dict:
    """Parses manifest.json and checks its shape (files: [{path, size, sha256}]).

    Raises:
        OpsError: not JSON or not a manifest (exit 1: the bucket copy is unusable).
    """
    try:
        body = json.loads(raw)
        files = body["files"]
        if not isinstance(files, list) or not all(
                isinstance(f["path"], str) and isinstance(f["size"], int) and isinstance(f["sha256"], str)
                for f in files):
            raise TypeError("files must be a list of {path, size, sha256}")
    except (ValueError, KeyError, TypeError) as exc:
        raise OpsError(f"{where} is corrupt ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                       "re-run the upload to rewrite it", EXIT_FAILED) from None
    return body
