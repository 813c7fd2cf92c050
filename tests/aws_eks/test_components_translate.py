"""Issue 16 item 2 for components/aws: components translate their plan slice; they neither read the spec nor plan."""
from __future__ import annotations

import ast

from tests.conftest import ROOT

AWS = ROOT / "components" / "aws"
#: The only names components may take from components.spec: the error they raise with a key path.
SPEC_ERRORS = {"ConfigError", "key_path"}
#: Planner entry points and spec-derived helpers: a component calling one re-makes a decision of the plan.
PLANNERS = {"cost_tags", "cost_labels", "plan_ladder", "plan_ladders", "plan_serving", "plan_basis", "fit",
            "load_catalog", "health_check_grace_seconds", "region_model_tag", "vm_pools", "rung_instance_types",
            "rung_update_config", "node_labels", "node_template_tags", "discovery_tags"}


def _imported(path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield from ((node.module, alias.name) for alias in node.names)


def test_no_aws_component_imports_spec_models_or_planners():
    offending = sorted(f"{p.name}: {module}.{name}" for p in AWS.glob("*.py") for module, name in _imported(p)
                       if (module.startswith("components.spec") and name not in SPEC_ERRORS) or name in PLANNERS)
    assert offending == []


def test_no_aws_args_class_holds_a_spec_section():
    held = []
    for path in AWS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Args"):
                held += [f"{path.name}: {node.name}.{f.target.id}: {ast.unparse(f.annotation)}" for f in node.body
                         if isinstance(f, ast.AnnAssign) and "Spec" in ast.unparse(f.annotation)]
    assert held == []
