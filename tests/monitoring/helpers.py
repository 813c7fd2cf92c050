"""Monitoring test helpers: stack specs from committed stacks, the fixture program under Pulumi mocks."""
from __future__ import annotations

import copy
import functools
from pathlib import Path

from components.preview.run import PlanRun, run_program
from components.spec import StackSpec, load_stack_spec
from tests.conftest import encode, raw_stack

FIXTURE = Path(__file__).resolve().parent / "fixtures"


def variant(stack: str, **sections) -> dict:
    """A committed stack's raw config with ``gpuinfra:<section>`` keys merged in (shallow per section)."""
    raw = copy.deepcopy(raw_stack(stack))
    for key, value in sections.items():
        full = key if ":" in key else f"gpuinfra:{key}"
        raw[full] = {**raw.get(full, {}), **value} if isinstance(value, dict) else value
    return raw


def spec_of(raw: dict) -> StackSpec:
    """Validate a raw config like the program does."""
    return load_stack_spec(*encode(raw))


@functools.cache
def stack_spec(stack: str) -> StackSpec:
    """A committed stack's spec (cached)."""
    return spec_of(raw_stack(stack))


def plan_of(raw: dict):
    """Validate and plan a raw config like the program does."""
    from components.plan.stack import plan_stack

    return plan_stack(spec_of(raw))


@functools.cache
def stack_plan(stack: str):
    """A committed stack's plan (cached)."""
    return plan_of(raw_stack(stack))


def run_fixture(raw: dict, cloud: str) -> PlanRun:
    """Run the fixture program (fake ClusterTarget on ``cloud`` + deploy_monitoring) under mocks."""
    return run_program(FIXTURE, "test", raw_config={**raw, "fixture:cloud": cloud})


def by_type(run: PlanRun, typ: str) -> list:
    return [r for r in run.resources if r.type == typ]


def release(run: PlanRun, chart: str):
    """The recorded Helm release of ``chart``."""
    return next(r for r in by_type(run, "kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == chart)
