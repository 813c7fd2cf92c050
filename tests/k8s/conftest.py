"""Fixtures of the serving-layer tests: committed stacks run once per module through the fixture program."""
from __future__ import annotations

import pytest

from components.preview.run import PlanRun
from tests.k8s.helpers import committed_run


@pytest.fixture(scope="module")
def dev_run() -> PlanRun:
    """The committed dev stack through the fixture program."""
    return committed_run("dev")


@pytest.fixture(scope="module")
def prod_run() -> PlanRun:
    """The committed prod stack through the fixture program."""
    return committed_run("prod")


@pytest.fixture(scope="module")
def staging_run() -> PlanRun:
    """The committed staging stack (GKE pool with a canary) through the fixture program."""
    return committed_run("staging")
