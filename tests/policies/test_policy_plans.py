"""The pack over real offline plans: committed stacks pass, an over-budget prod fails with numbers, config files agree."""
from __future__ import annotations

import ast
import copy
import json
import re
import subprocess
import sys

import pytest
import yaml

from components.plan.basis import plan_basis
from components.plan.cost_network import unseen_by_policies
from components.preview.plan import exit_status, plan
from components.spec import load_stack_spec
from policies.rules import RULES
from policies.rules.cost import monthly_total, resource_cost
from policies.rules.model_fit import engines
from policies.rules.settings import config_document
from policies.rules.view import from_records
from tests.conftest import ROOT, STACKS, encode, plan_json, raw_stack


def _spec(raw):
    return load_stack_spec(*encode(raw))


@pytest.fixture(scope="module")
def over_budget():
    """Prod with its budget cut to $100,000 (raw_config variant) and the same stack file on disk."""
    raw = copy.deepcopy(raw_stack("prod"))
    raw["gpuinfra:budget"]["monthly_usd"] = 100_000
    return raw, plan(ROOT, "prod", raw_config=raw)


def test_committed_stacks_have_no_mandatory_violation(stack_name):
    doc = plan_json(stack_name)
    mandatory = [v for v in doc["violations"] if v["level"] == "mandatory"]
    assert not mandatory, mandatory
    assert {v["level"] for v in doc["violations"]} <= {"mandatory", "advisory"}


def test_the_plan_runs_every_rule_over_real_resources(stack_name):
    """Guards against vacuous passes: the rules see the stack's GPU capacity, buckets and providers."""
    views = from_records(plan_json(stack_name)["resources"])
    cfg = json.loads((ROOT / "policies" / f"config.{stack_name}.json").read_text())["budget-worst-case"]
    lines = resource_cost(views, cfg)
    assert lines and not [ln for ln in lines if ln.hourly is None], [ln.problem for ln in lines if ln.hourly is None]
    assert any(v.type in ("aws:s3/bucket:Bucket", "gcp:storage/bucket:Bucket") for v in views)
    models = json.loads((ROOT / "policies" / f"config.{stack_name}.json").read_text())["model-fit"]
    found = engines(views, models)
    assert found and all(e.pools for e in found), "model-fit sees every vLLM engine and its pools"
    assert {e.served for e in found} == set(models["models"])


def test_resource_cost_matches_the_plans_cost_model(stack_name):
    """Cost from resources (what the pack sees) = the spec's cost model for every item named after a resource."""
    doc = plan_json(stack_name)
    cfg = json.loads((ROOT / "policies" / f"config.{stack_name}.json").read_text())["budget-worst-case"]
    lines = resource_cost(from_records(doc["resources"]), cfg)
    by_name: dict[str, float] = {}
    for ln in lines:
        name = ln.resource.split(" (")[0]
        by_name[name] = by_name.get(name, 0.0) + ln.hourly.worst
    plan_by_name: dict[str, float] = {}
    for item in doc["cost"]["items"]:
        plan_by_name[item["resource"]] = plan_by_name.get(item["resource"], 0.0) + item["hourly"]["worst"]
    shared = set(by_name) & set(plan_by_name)
    assert len(shared) >= 3
    for name in shared:
        assert by_name[name] == pytest.approx(plan_by_name[name], abs=1e-3), name
    # Totals differ only by storage (bucket contents are invisible to a plan) and by what resources do not show:
    # controller-made load balancers, usage under stated assumptions, root volumes (components/plan/cost_network.py).
    storage = sum(i["hourly"]["worst"] for i in doc["cost"]["items"] if i["resource"] == "weights") * 730
    basis = plan_basis(load_stack_spec(*encode(raw_stack(stack_name))))
    unseen = sum(i.hourly.worst for i in unseen_by_policies(basis) if i.resource != "weights") * 730
    assert monthly_total(lines).worst == pytest.approx(doc["cost"]["monthly"]["worst"] - storage - unseen, abs=1.0)


def test_over_budget_prod_fails_naming_the_budget_with_numbers(over_budget):
    _, result = over_budget
    violations = result.sections["violations"]
    budget = [v for v in violations if v["policy"] == "budget-worst-case"]
    assert budget and budget[0]["level"] == "mandatory", violations
    match = re.search(r"worst-case \$([\d,]+)/month vs budget \$100,000", budget[0]["message"])
    assert match, budget[0]["message"]
    # The figure priced from resources agrees with the spec's cost model (minus storage) to the dollar.
    assert float(match.group(1).replace(",", "")) == pytest.approx(result.sections["cost"]["monthly"]["worst"], rel=1e-3)
    assert exit_status(result) == 1


@pytest.mark.slow
def test_over_budget_prod_exits_1_from_the_cli(over_budget, tmp_path):
    raw, _ = over_budget
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump({"config": raw}))
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "plan.py"), "prod", "--config-file", str(path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 1, out.stderr
    assert "vs budget $100,000" in out.stdout


@pytest.mark.parametrize("stack", STACKS)
def test_committed_pack_config_is_generated_from_the_stack(stack):
    committed = (ROOT / "policies" / f"config.{stack}.json").read_text()
    assert committed == config_document(_spec(raw_stack(stack))), f"run scripts/policy_config.py {stack}"
    doc = json.loads(committed)
    assert doc["budget-worst-case"]["budget_usd"] == raw_stack(stack)["gpuinfra:budget"]["monthly_usd"]
    assert doc["gpu-allow-list"]["allowed_gpus"] == raw_stack(stack)["gpuinfra:policy"]["allowed_gpus"]


def test_a_changed_budget_changes_the_generated_config():
    raw = copy.deepcopy(raw_stack("dev"))
    raw["gpuinfra:budget"]["monthly_usd"] = 1234
    assert json.loads(config_document(_spec(raw)))["budget-worst-case"]["budget_usd"] == 1234
    assert config_document(_spec(raw)) != (ROOT / "policies" / "config.dev.json").read_text()


def test_policy_config_script_check_mode():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "policy_config.py"), "--check"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("stack", STACKS)
def test_config_sections_fit_the_policy_schemas(stack):
    """Every section names a policy of the pack and only keys its schema declares (the CLI validates them)."""
    doc = json.loads((ROOT / "policies" / f"config.{stack}.json").read_text())
    rules = {r.name: r for r in RULES}
    assert set(doc) == set(rules)
    for name, section in doc.items():
        assert set(section) - {"enforcementLevel"} <= set(rules[name].schema), name
        assert section.get("enforcementLevel", "advisory") in ("advisory", "mandatory", "disabled")


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


def test_policy_pack_is_only_built_in_main():
    for path in sorted((ROOT / "policies").rglob("*.py")):
        built = "PolicyPack(" in path.read_text()
        assert built == (path.name == "__main__.py" and path.parent.name == "policies"), path


def test_pack_requirements_cover_what_the_pack_imports():
    """The pack's venv holds policies/requirements.txt only: the pack and the pure layers it reuses import nothing else."""
    pip_names = {"pulumi_policy": "pulumi-policy", "yaml": "PyYAML", "pydantic": "pydantic", "pulumi": "pulumi"}
    required = {line.split("==")[0] for line in (ROOT / "policies" / "requirements.txt").read_text().splitlines()
                if line and not line.startswith("#")}
    files = [*(ROOT / "policies").rglob("*.py"), *(ROOT / "components" / "catalog").rglob("*.py"),
             *(ROOT / "components" / "plan").rglob("*.py"), *(ROOT / "components" / "spec").rglob("*.py")]
    third_party = {m for f in files for m in _imports(f)} - set(sys.stdlib_module_names) - {"components", "policies"}
    assert third_party, "the scan sees imports"
    missing = sorted(m for m in third_party if pip_names.get(m, m) not in required)
    assert not missing, missing


def test_pulumi_policy_yaml_runs_python_in_its_virtualenv():
    doc = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    assert doc["runtime"]["name"] == "python" and doc["runtime"]["options"]["virtualenv"]
