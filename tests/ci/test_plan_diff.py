"""scripts/plan_diff.py on real offline plans: committed stacks and config variants run through scripts/plan.py."""
from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from components.plan.names import rung_name
from tests.ci.conftest import PLAN_DIFF, ok, write_side
from tests.conftest import ROOT, STACKS

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def _items(doc: dict, resource: str) -> list[dict]:
    return [i for i in doc["cost"]["items"] if i["resource"] == resource]


@pytest.mark.parametrize("stack", STACKS)
def test_a_plan_against_itself_has_no_changes(plans, plan_diff, stack):
    result = plans[stack]
    assert result["exit_code"] in (0, 1), result["error"][-2000:]  # a mandatory violation still prints the plan
    doc = result["document"]
    diff = plan_diff.diff_plans(doc, copy.deepcopy(doc))
    assert doc["resources"], "the offline plan recorded no resources"
    assert (diff.added, diff.removed, diff.changed, diff.items_added, diff.items_removed, diff.items_changed,
            diff.new_violations, diff.resolved_violations) == ((),) * 8
    assert diff.monthly_before == diff.monthly_after == doc["cost"]["monthly"]


def test_two_runs_of_the_same_config_have_no_changes(plans, plan_diff):
    # Anything run-dependent in the plan JSON (object addresses, temp paths) would show in every PR comment.
    diff = plan_diff.diff_plans(ok(plans, "dev"), ok(plans, "dev-again"))
    assert (diff.added, diff.removed, diff.changed, diff.items_changed) == ((),) * 4, diff.changed[:3]


def test_an_extra_spot_node_changes_the_spot_rung_and_raises_the_worst_case(plans, plan_diff):
    before, after = ok(plans, "prod"), ok(plans, "prod-changed", 1)
    diff = plan_diff.diff_plans(before, after)
    spot = rung_name("h200-use1", "spot")
    changed = {c.key: c.fields for c in diff.changed}
    # The node group's size limits change; nothing is created or destroyed for a bigger rung.
    assert "inputs.scalingConfig" in changed[(NODE_GROUP, spot)]
    assert not [k for k in diff.added + diff.removed if k[1].startswith("h200-use1")]
    items = {c.key[1]: c.fields for c in diff.items_changed}
    assert "count_max" in items[spot] and "hourly" in items[spot]
    assert diff.monthly_after["worst"] > diff.monthly_before["worst"]


def test_the_markdown_row_shows_before_after_delta_and_percent(plans, plan_diff):
    before, after = ok(plans, "prod"), ok(plans, "prod-changed", 1)
    run = plan_diff.PlanRun
    text = plan_diff.render_markdown([plan_diff.diff_stack("prod", run("prod", 0, before), run("prod", 1, after))],
                                     base_ref="main")
    old, new = before["cost"]["monthly"]["worst"], after["cost"]["monthly"]["worst"]
    row = next(line for line in text.splitlines() if line.startswith("| `prod`"))
    assert f"${old:,.2f} → ${new:,.2f}" in row
    assert f"+${new - old:,.2f} ({(new - old) / old * 100:+.1f}%)" in row
    assert "✏️" in text and rung_name("h200-use1", "spot") in text
    assert text.startswith(plan_diff.MARKER + "\n") and text.count(plan_diff.MARKER) == 1


def test_a_changed_instance_type_swaps_cost_items_and_changes_node_groups(plans, plan_diff):
    before, after = ok(plans, "prod"), ok(plans, "prod-changed", 1)
    diff = plan_diff.diff_plans(before, after)
    changed = {c.key: c.fields for c in diff.changed}
    for tier in ("on-demand", "spot"):
        name = rung_name("l40s-use1", tier)
        assert "inputs.instanceTypes" in changed[(NODE_GROUP, name)]
        # Cost items are keyed by instance type: the old type's item goes, the new type's item comes.
        assert {i["instance_type"] for i in diff.items_removed if i["resource"] == name} == {"g6e.xlarge"}
        assert {i["instance_type"] for i in diff.items_added if i["resource"] == name} == {"g6e.2xlarge"}
    assert diff.monthly_after["worst"] > diff.monthly_before["worst"]  # 2xlarge costs more than xlarge


def test_a_new_rung_adds_resources_and_removing_it_removes_them(plans, plan_diff):
    before, after = ok(plans, "dev"), ok(plans, "dev-on-demand-floor")
    grown, shrunk = plan_diff.diff_plans(before, after), plan_diff.diff_plans(after, before)
    floor = rung_name("l4-spot", "on-demand")
    assert (NODE_GROUP, floor) in grown.added
    assert [i["purchase"] for i in grown.items_added if i["resource"] == floor] == ["on-demand"]
    assert grown.removed == () and set(shrunk.removed) == set(grown.added) and shrunk.added == ()
    assert {i["resource"] for i in shrunk.items_removed} == {i["resource"] for i in grown.items_added}
    # An on-demand floor is paid all month: the best case rises too.
    assert grown.monthly_after["best"] > grown.monthly_before["best"]


def test_options_and_parent_changes_are_listed_by_key(plans, plan_diff):
    before = ok(plans, "prod")
    after = copy.deepcopy(before)
    target = next(r for r in after["resources"] if r["type"] == NODE_GROUP)
    target["options"]["protect"] = True
    target["parent"] = "somewhere-else"
    diff = plan_diff.diff_plans(before, after)
    assert [(c.key, c.fields) for c in diff.changed] == [((NODE_GROUP, target["name"]), ("parent", "options.protect"))]


def test_new_and_resolved_violations(plans, plan_diff):
    before = ok(plans, "dev")
    after = copy.deepcopy(before)
    new = {"policy": "budget-worst-case", "level": "mandatory", "resource": "stack", "message": "worst > budget"}
    after["violations"] = [*before["violations"], new]
    assert plan_diff.diff_plans(before, after).new_violations == (new,)
    assert plan_diff.diff_plans(after, before).resolved_violations == (new,)


def test_a_budget_breach_fails_the_head_plan_and_shows_new_mandatory_violations(plans, plan_diff):
    result = plans["prod-changed"]
    assert result["exit_code"] == 1, f"budget 1000 USD/month must be a mandatory violation: {result['error'][-500:]}"
    run = plan_diff.PlanRun
    d = plan_diff.diff_stack("prod", run("prod", 0, ok(plans, "prod")), run("prod", 1, result["document"]))
    assert any(v["level"] == "mandatory" for v in d.diff.new_violations)
    text = plan_diff.render_markdown([d])
    assert "mandatory violation (exit 1)" in text and "🛑 **mandatory**" in text


def test_cli_directories_new_failed_and_removed_stacks(plans, tmp_path):
    base, head = tmp_path / "base", tmp_path / "head"
    write_side(base, "dev", plans["dev"])
    write_side(base, "staging", plans["dev-unknown-type"])  # the base branch's plan failed (exit 2)
    write_side(base, "old", plans["dev"])  # a stack the PR deletes
    write_side(head, "dev", plans["dev-on-demand-floor"])
    write_side(head, "staging", plans["dev"])
    write_side(head, "prod", plans["prod"])  # a stack the PR adds
    out = tmp_path / "diff.md"
    proc = subprocess.run([sys.executable, str(PLAN_DIFF), "--before-dir", str(base), "--after-dir", str(head),
                           "--base-ref", "main", "-o", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| `")}
    assert list(rows) == ["`dev`", "`staging`", "`prod`", "`old`"]  # promotion order, then the rest
    assert "✅ ok" in rows["`dev`"] and "+0 ~0 −0" not in rows["`dev`"]
    assert "base plan failed" in rows["`staging`"]
    assert plans["dev-unknown-type"]["error"].strip().splitlines()[-1] in text  # the base's error is shown
    assert "new stack" in rows["`prod`"] and "stack removed" in rows["`old`"]


def test_cli_head_failure_and_pairs(plans, tmp_path):
    before, after = tmp_path / "before", tmp_path / "after"
    write_side(before, "dev", plans["dev"])
    write_side(after, "dev", plans["dev-unknown-type"])
    proc = subprocess.run([sys.executable, str(PLAN_DIFF), "--pair", str(before / "dev.json"),
                           "--pair", str(after / "dev.json")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "❌ plan failed (exit 2)" in proc.stdout and "**Head plan failed (exit 2):**" in proc.stdout
    assert "g9.nonexistent" in proc.stdout  # the config error names the bad value


def test_cli_without_inputs_is_a_usage_error():
    proc = subprocess.run([sys.executable, str(PLAN_DIFF)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--after-dir" in proc.stderr
