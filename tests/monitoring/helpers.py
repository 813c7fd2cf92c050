"""Monitoring test helpers: specs and plans of committed stacks and variants, records of the real program per cluster."""
from __future__ import annotations

import copy
import functools

from components.preview.run import PlanRun
from components.spec import StackSpec, load_stack_spec
from tests.conftest import encode, raw_stack


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


def in_cluster(run: PlanRun, cluster: str) -> list:
    """Records the real program registered on one cluster (through its Kubernetes provider ``<cluster>-k8s``)."""
    records = [r for r in run.resources if r.options.get("provider") == f"{cluster}-k8s"]
    assert records, f"no records on {cluster}-k8s"
    return records


def by_type(records: list, typ: str) -> list:
    """Records of one type token."""
    return [r for r in records if r.type == typ]


def release(records: list, chart: str):
    """The recorded Helm release of ``chart``."""
    return next(r for r in by_type(records, "kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == chart)
