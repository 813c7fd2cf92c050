"""The GCP components that wire the stack translate plan slices: they call no planner function (issue 16 item 2)."""
from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Components cleaned of planning; the other components/gcp modules still call shape helpers (a later step).
TRANSLATORS = ("components/gcp/cluster.py", "components/gcp/vm_fleet.py", "components/gcp/deploy.py")


def _planner_functions(path: Path) -> list[str]:
    """Functions of ``components.plan`` a module imports by name or reaches as ``<plan module>.<function>``."""
    tree, modules, found = ast.parse(path.read_text()), {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("components.plan"):
            for alias in node.names:
                owner = importlib.import_module(node.module)
                value = getattr(owner, alias.name)
                if inspect.ismodule(value):
                    modules[alias.asname or alias.name] = value
                elif inspect.isfunction(value):
                    found.append(f"{node.module}.{alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            if inspect.isfunction(getattr(modules[node.value.id], node.attr, None)):
                found.append(f"{modules[node.value.id].__name__}.{node.attr}")
    return found


@pytest.mark.parametrize("module", TRANSLATORS)
def test_the_component_calls_no_planner_function(module):
    # Plan dataclasses may carry methods that complete a decision with a deploy-time answer (ZoneChoice.resolve
    # takes the UP zones of compute.getZones); module-level planner functions belong to plan_stack.
    assert _planner_functions(ROOT / module) == []


def test_the_check_finds_a_planner_call():
    # The check itself can fail: a planner module reached as an attribute and a function imported by name.
    probe = ROOT / "components/plan/gcp_vm_fleet.py"
    assert {"components.plan.gcp_access.reader_condition", "components.plan.gcp_rollout.mig_rollout"} <= set(
        _planner_functions(probe))
