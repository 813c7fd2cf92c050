"""The weight cache is pruned (real script, temp directories) and GCS objects are copied in parallel."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.spec import load_stack_spec
from tests.conftest import ROOT, encode, raw_stack
from tests.k8s.helpers import container, kind, run_fixture

SCRIPT = ROOT / "components" / "k8s" / "sync_weights.py"
FILES = {"config.json": b"{}", "model-00001-of-00003.safetensors": os.urandom(4096),
         "model-00002-of-00003.safetensors": os.urandom(4096), "model-00003-of-00003.safetensors": os.urandom(4096),
         "tokenizer/tokenizer.json": b'{"v": 1}'}
#: A stand-in for ``gcloud storage cp SRC DEST``: gs://<bucket>/<key> is <root>/<bucket>/<key>; each call logs
#: its start and end time and takes 0.4 s, so overlapping calls prove concurrency.
FAKE_GCLOUD = """#!{python}
import shutil, sys, time
from pathlib import Path
assert sys.argv[1:3] == ["storage", "cp"], sys.argv
src, dest = sys.argv[3], sys.argv[4]
start = time.time()
time.sleep(0.4)
shutil.copyfile(Path({root!r}) / src.removeprefix("gs://"), dest)
with open({log!r}, "a") as log:
    log.write(f"{{start}} {{time.time()}} {{src}}\\n")
"""


@pytest.fixture()
def bucket(tmp_path) -> tuple[Path, Path]:
    """A fake GCS bucket with one revision and the fake gcloud binary; returns (gcloud, call log)."""
    root, log = tmp_path / "gcs", tmp_path / "calls.log"
    prefix = root / "weights" / "llama-8b" / "new"
    for path, body in FILES.items():
        (prefix / path).parent.mkdir(parents=True, exist_ok=True)
        (prefix / path).write_bytes(body)
    entries = [{"path": p, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for p, b in FILES.items()]
    (prefix / "manifest.json").write_text(json.dumps({"model": "llama-8b", "revision": "new", "files": entries}))
    gcloud = tmp_path / "gcloud"
    gcloud.write_text(FAKE_GCLOUD.format(python=sys.executable, root=str(root), log=str(log)))
    gcloud.chmod(0o755)
    return gcloud, log


def _revision(model_dir: Path, name: str, age_s: float) -> Path:
    path = model_dir / name
    (path / "model.safetensors").parent.mkdir(parents=True, exist_ok=True)
    (path / "model.safetensors").write_bytes(b"x" * 1024)
    (path / ".complete").write_text("sha\n")
    stamp = time.time() - age_s
    for p in (path / "model.safetensors", path / ".complete", path):
        os.utime(p, (stamp, stamp))
    return path


def _sync(gcloud: Path, dest: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--source", "gs://weights/llama-8b/new/", "--dest", str(dest),
                           "--copier", "gcloud", "--binary", str(gcloud), *extra],
                          capture_output=True, text=True, timeout=60, check=False)


def test_prune_keeps_served_locked_and_recent_revisions_only(bucket, tmp_path):
    gcloud, _ = bucket
    cache = tmp_path / "cache" / "models"
    model = cache / "llama-8b"
    stale = _revision(model, "stale", age_s=7200)
    canary = _revision(model, "canary", age_s=7200)
    recent = _revision(model, "recent", age_s=60)       # a pod of a rollout in progress started on it
    syncing = _revision(model, "syncing", age_s=7200)   # another pod's init container holds its lock
    other_model = _revision(cache / "llama-70b", "old", age_s=7200)
    with (model / ".syncing.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = _sync(gcloud, model / "new", "--prune", "--keep", "new", "--keep", "canary", "--prune-grace", "3600")
    assert result.returncode == 0, result.stderr
    assert (model / "new" / ".complete").is_file()
    assert all((model / "new" / p).read_bytes() == b for p, b in FILES.items())
    assert not stale.exists()
    assert canary.exists() and recent.exists() and syncing.exists() and other_model.exists()
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert {"event": "pruned", "revision": "stale"} in events


def test_a_skipped_sync_refreshes_the_revisions_last_use(bucket, tmp_path):
    gcloud, _ = bucket
    model = tmp_path / "cache" / "models" / "llama-8b"
    assert _sync(gcloud, model / "new").returncode == 0
    old = time.time() - 7200
    os.utime(model / "new" / ".complete", (old, old))
    os.utime(model / "new", (old, old))
    assert _sync(gcloud, model / "new").returncode == 0  # complete: skipped, but in use again
    assert (model / "new" / ".complete").stat().st_mtime > old + 3000
    _revision(model, "other", age_s=0)
    # Another pod's sync (its own revision "other") must not prune the revision a pod just started on.
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
                    "import sync_weights as s; print(s.prune(Path(sys.argv[2]), {'other'}, 3600))",
                    str(SCRIPT.parent), str(model)], check=True, capture_output=True)
    assert (model / "new" / ".complete").is_file()


def test_gcs_objects_are_copied_in_parallel(bucket, tmp_path):
    gcloud, log = bucket
    result = _sync(gcloud, tmp_path / "cache" / "models" / "llama-8b" / "new", "--workers", "8")
    assert result.returncode == 0, result.stderr
    calls = [line.split() for line in log.read_text().splitlines() if not line.endswith("manifest.json")]
    assert len(calls) == len(FILES)
    spans = [(float(start), float(end)) for start, end, _ in calls]
    ordered = sorted(spans)
    assert any(later[0] < earlier[1] for earlier, later in zip(ordered, ordered[1:])), \
        f"gcloud copies ran one at a time: {ordered}"


def test_the_init_container_prunes_and_keeps_the_active_and_canary_revisions():
    raw = raw_stack("staging")
    raw["gpuinfra:models"][0]["load_format"] = "nvme-cache"
    spec = load_stack_spec(*encode(raw))
    model = spec.models[0]
    assert model.canary is not None
    run = run_fixture("staging", raw)
    deployments = kind(run, "Deployment")
    assert deployments
    for deployment in deployments:
        command = container(deployment, "weights-sync")["command"]
        assert "--prune" in command
        kept = {command[i + 1] for i, a in enumerate(command) if a == "--keep"}
        assert kept == {model.revision, model.canary.revision}
