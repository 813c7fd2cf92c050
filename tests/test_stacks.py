"""Every committed stack plans offline as the CLI would run it; bad stack files exit 2 naming the key."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT, plan_json, raw_stack

CONTRACT = {"stack", "project", "resources", "outputs", "cost", "sizing", "violations"}


def test_every_stack_plans_without_mandatory_violation(stack_name):
    doc = plan_json(stack_name)
    assert CONTRACT <= set(doc)
    assert doc["stack"] == stack_name and doc["project"] == "gpuinfra"
    assert len(doc["resources"]) > 20, "the stack registers its components"
    assert not [v for v in doc["violations"] if v["level"] == "mandatory"], doc["violations"]
    assert all(row["fits"] for row in doc["sizing"]), [r["reason"] for r in doc["sizing"] if not r["fits"]]


def test_every_cost_item_names_a_recorded_resource(stack_name):
    doc = plan_json(stack_name)
    recorded = {(r["type"], r["name"]) for r in doc["resources"]}
    missing = [(i["type"], i["resource"]) for i in doc["cost"]["items"] if (i["type"], i["resource"]) not in recorded]
    assert not missing, missing


def _cli(*args, **kwargs):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "plan.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, **kwargs)


@pytest.mark.slow
def test_prod_json_from_the_cli_parses_with_the_contract_keys():
    result = _cli("prod", "--json")
    assert result.returncode == 0, result.stderr
    assert CONTRACT <= set(json.loads(result.stdout))


def test_misspelled_key_exits_2_naming_it(tmp_path):
    raw = raw_stack("dev")
    raw["gpuinfra:aws"]["gpu_pools"][0]["capacty"] = raw["gpuinfra:aws"]["gpu_pools"][0].pop("capacity")
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": raw}))
    result = _cli("dev", "--config-file", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("error: gpuinfra:aws.gpu_pools[0].capacty: unknown key (did you mean 'capacity'?")
    assert result.stdout == ""


def test_make_plan_prints_the_dev_tree():
    result = _cli("dev")
    assert result.returncode == 0, result.stderr
    assert "pulumi:pulumi:Stack gpuinfra-dev" in result.stdout
    assert "gpuinfra:aws:" in result.stdout  # components appear in the tree
    assert "total monthly" in result.stdout and "Model fit" in result.stdout
