"""Shared test helpers: stack files as the CLI encodes them, and required external tools."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
STACKS = sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def raw_stack(stack: str) -> dict:
    """The ``config:`` mapping of a committed stack file."""
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def encode(raw: dict) -> tuple[dict[str, str], list[str]]:
    """Encode a raw config mapping the way the CLI does (see components.preview.config)."""
    from components.preview.config import encode_stack_config

    return encode_stack_config("gpuinfra", raw)


def plan_of(raw: dict):
    """Validate and plan a raw config exactly as the program does (``load_stack_spec`` then ``plan_stack``)."""
    from components.plan.stack import plan_stack
    from components.spec import load_stack_spec

    return plan_stack(load_stack_spec(*encode(raw)))


def stack_plan(stack: str):
    """The plan of a committed stack (cached per process)."""
    if stack not in _PLANS:
        _PLANS[stack] = plan_of(raw_stack(stack))
    return _PLANS[stack]


_PLANS: dict = {}


def require_tool(name: str, path: str | None = None) -> str:
    """Path of an external tool the test needs: skip locally with a reason, fail in CI."""
    found = path if path and Path(path).exists() else shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed (make test installs Python tools; .ci/run installs the rest)"
    if IN_CI:
        pytest.fail(f"{message}: CI must have it")
    pytest.skip(message)


@pytest.fixture(params=STACKS)
def stack_name(request) -> str:
    """Each committed stack."""
    return request.param


def dumps(value) -> str:
    """Compact JSON as the CLI passes structured config."""
    return json.dumps(value, separators=(",", ":"))


_DOCUMENTS: dict[str, dict] = {}


def plan_json(stack: str) -> dict:
    """The offline plan document of a committed stack (computed once per test process)."""
    if stack not in _DOCUMENTS:
        from components.preview.plan import plan, plan_document

        _DOCUMENTS[stack] = plan_document(plan(ROOT, stack))
    return _DOCUMENTS[stack]
