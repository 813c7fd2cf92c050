"""Real offline plans for the CI tests: every committed stack and config variants, run once through scripts/plan.py."""
from __future__ import annotations

import copy
import fcntl
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, raw_stack

PLAN = ROOT / "scripts" / "plan.py"
PLAN_DIFF = ROOT / "scripts" / "plan_diff.py"


def load_plan_diff():
    """``scripts/plan_diff.py`` as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("plan_diff", PLAN_DIFF)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("plan_diff", module)
    spec.loader.exec_module(module)
    return sys.modules["plan_diff"]


def _pool(raw: dict, cloud: str, name: str) -> dict:
    return next(p for p in raw[f"gpuinfra:{cloud}"]["gpu_pools"] if p["name"] == name)


def _prod_changed(raw: dict) -> dict:
    """Three reviewable changes in one plan (each prod plan costs seconds): size, type and budget."""
    _pool(raw, "aws", "h200-use1")["capacity"]["spot"] += 1  # one more spot p5en.48xlarge at most
    _pool(raw, "aws", "l40s-use1")["instance_types"] = ["g6e.2xlarge"]  # was [g6e.xlarge, g6e.2xlarge]
    raw["gpuinfra:budget"]["monthly_usd"] = 1000  # far below prod's worst case: the mandatory budget guardrail
    return raw


def _dev_on_demand_floor(raw: dict) -> dict:
    _pool(raw, "aws", "l4-spot")["capacity"]["on_demand"] = 1  # a new on-demand rung below the spot one
    return raw


def _dev_unknown_type(raw: dict) -> dict:
    _pool(raw, "aws", "l4-spot")["instance_types"] = ["g9.nonexistent"]  # not in the catalog: exit 2
    return raw


# name -> (base stack, change to its raw config)
VARIANTS = {
    "dev-again": ("dev", lambda raw: raw),  # the same config once more: plans must be deterministic
    "prod-changed": ("prod", _prod_changed),
    "dev-on-demand-floor": ("dev", _dev_on_demand_floor),
    "dev-unknown-type": ("dev", _dev_unknown_type),
}


def run_plan(stack: str, config_file: Path | None = None) -> dict:
    """Run ``scripts/plan.py STACK --json`` as CI does; return ``{exit_code, document, error}``."""
    args = [sys.executable, str(PLAN), stack, "--json"] + (["--config-file", str(config_file)] if config_file else [])
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    document = json.loads(proc.stdout) if proc.returncode in (0, 1) else None
    return {"exit_code": proc.returncode, "document": document, "error": proc.stderr, "stdout": proc.stdout}


class Plans(dict):
    """Plan results by stack or variant name, each run on first use; xdist workers share them through files."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def __missing__(self, name: str) -> dict:
        cached = self.folder / f"{name}.result.json"
        with open(self.folder / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker plans, the others wait and read its result
            if not cached.exists():
                cached.write_text(json.dumps(self._run(name)))
        self[name] = json.loads(cached.read_text())
        return self[name]

    def _run(self, name: str) -> dict:
        if name not in VARIANTS:
            return run_plan(name)
        stack, change = VARIANTS[name]
        path = self.folder / f"Pulumi.{name}.yaml"
        path.write_text(yaml.safe_dump({"config": change(copy.deepcopy(raw_stack(stack)))}, sort_keys=False))
        return run_plan(stack, path)


@pytest.fixture(scope="session")
def plans(tmp_path_factory, request) -> Plans:
    """Real plans of the committed stacks and of ``VARIANTS``, keyed by name, run once per test session."""
    root = tmp_path_factory.getbasetemp()
    in_worker = hasattr(request.config, "workerinput")  # under xdist each worker's basetemp shares one parent
    shared = (root.parent if in_worker else root) / "ci-plans"
    shared.mkdir(exist_ok=True)
    return Plans(shared)


@pytest.fixture(scope="session")
def plan_diff():
    """The plan_diff module."""
    return load_plan_diff()


def ok(plans: dict, name: str, exit_code: int = 0) -> dict:
    """The document of a plan that must have ended with ``exit_code``, with its stderr on failure."""
    result = plans[name]
    assert result["exit_code"] == exit_code, f"plan {name} exited {result['exit_code']}: {result['error'][-2000:]}"
    return result["document"]


def write_side(folder: Path, stack: str, result: dict) -> None:
    """Store a plan result the way the workflow does: <stack>.json (stdout), .rc, .err."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stack}.json").write_text(result["stdout"])
    (folder / f"{stack}.rc").write_text(f"{result['exit_code']}\n")
    (folder / f"{stack}.err").write_text(result["error"])
