"""Serving-layer test helpers: runs of the real program (stacks/__main__.py) on committed or varied stacks."""
from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

from components.preview.recorder import ResourceRecord
from components.preview.run import PlanRun, run_program
from tests.conftest import ROOT, raw_stack

FIXTURE = ROOT  # the real program (stacks/__main__.py), not a fixture (issue 16 item 7)
#: A known API key set as a `secure:` value in variant configs: it must appear in no rendered file.
KNOWN_SECRET = "sk-gpuinfra-test-7f3c9a1e5b2d4680"


def run_fixture(stack: str, raw: dict | None = None) -> PlanRun:
    """Run the real program (the one `pulumi up` runs) on a committed stack's config (or ``raw``)."""
    return run_program(FIXTURE, stack, raw_config=raw if raw is not None else raw_stack(stack))


@functools.cache
def committed_run(stack: str) -> PlanRun:
    """One run per committed stack per test process (runs take 1-3 s)."""
    return run_fixture(stack)


def variant(stack: str, **changes) -> dict:
    """A committed stack's raw config with top-level ``gpuinfra:`` keys replaced (deep-copied)."""
    raw = copy.deepcopy(raw_stack(stack))
    for key, value in changes.items():
        raw[f"gpuinfra:{key}"] = value
    return raw


def with_secret(raw: dict) -> dict:
    """``raw`` plus the known API key as a `secure:` value (the offline runner treats it as a secret)."""
    return {**raw, "gpuinfra:vllm_api_key": {"secure": KNOWN_SECRET}}


def of_type(run: PlanRun, typ: str) -> list[ResourceRecord]:
    """Records of one type token."""
    return [r for r in run.resources if r.type == typ]


def kind(run: PlanRun, k: str) -> list[ResourceRecord]:
    """Kubernetes records of one Kind (built-in or custom)."""
    return [r for r in run.resources if r.type.startswith("kubernetes:") and r.type.rsplit(":", 1)[-1] == k]


def named(records: list[ResourceRecord], suffix: str) -> ResourceRecord:
    """The single record whose Pulumi name ends with ``suffix``."""
    found = [r for r in records if r.name.endswith(suffix)]
    assert len(found) == 1, f"{suffix}: {[r.name for r in records]}"
    return found[0]


def pod(record: ResourceRecord) -> dict:
    """The pod spec of a recorded Deployment."""
    return record.inputs["spec"]["template"]["spec"]


def container(record: ResourceRecord, name: str = "vllm") -> dict:
    """A container (or init container) of a recorded Deployment."""
    spec = pod(record)
    return next(c for c in spec["containers"] + spec.get("initContainers", []) if c["name"] == name)


def depends_on_names(record: ResourceRecord) -> set[str]:
    """Pulumi names of a record's explicit dependencies."""
    return {d["name"] for d in record.options.get("dependsOn", [])}


def dump(run: PlanRun) -> str:
    """Every recorded input and output as JSON (for secret scans)."""
    return json.dumps([{**r.to_dict(), "outputs": r.outputs} for r in run.resources] + [run.outputs], default=str)


def golden_path(name: str) -> Path:
    """A golden file under tests/golden/k8s/."""
    return ROOT / "tests" / "golden" / "k8s" / name
