"""Shared offline runs (one per variant, session-scoped) and record lookups for the GCP tests."""
from __future__ import annotations

import pytest

from components.preview.run import PlanRun, run_program
from components.plan.stack import plan_stack
from components.spec import StackSpec, load_stack_spec
from tests.conftest import ROOT, encode
from tests.gcp import variants


class Recorded:
    """One offline run with its spec and lookups by type and name."""

    def __init__(self, raw: dict, stack: str) -> None:
        self.raw = raw
        self.spec: StackSpec = load_stack_spec(*encode(raw))
        self.plan = plan_stack(self.spec)
        self.run: PlanRun = run_program(ROOT, stack, raw_config=raw)

    def of_type(self, typ: str) -> list:
        """Every record of a resource type."""
        return [r for r in self.run.resources if r.type == typ]

    def one(self, typ: str, name: str):
        """The record of ``typ`` named ``name`` (fails when absent)."""
        found = [r for r in self.of_type(typ) if r.name == name]
        assert len(found) == 1, f"{typ} {name!r}: found {len(found)} (have {[r.name for r in self.of_type(typ)]})"
        return found[0]


@pytest.fixture(scope="session")
def staging() -> Recorded:
    """Staging, GCP side only: GKE with an L4 on-demand floor and spot burst."""
    return Recorded(variants.gcp_only("staging"), "staging")


@pytest.fixture(scope="session")
def prod() -> Recorded:
    """Prod, GCP side only: GKE with an H100 reserved floor and spot burst."""
    return Recorded(variants.gcp_only("prod"), "prod")


@pytest.fixture(scope="session")
def vm() -> Recorded:
    """VM mode: L4 on-demand + spot + fallback, H100 reserved + flex-start."""
    return Recorded(variants.vm_mode(), "staging")
