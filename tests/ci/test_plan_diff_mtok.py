"""The PR diff shows $/Mtok at planned traffic when it changes (issue 20 item 4)."""
from __future__ import annotations


def _doc(per_mtok: float | None) -> dict:
    rows = [] if per_mtok is None else [{"model": "llama-70b", "usd_per_mtok": per_mtok, "usd_per_mtok_input": 0.5,
                                         "usd_per_mtok_output": 2.0}]
    return {"resources": [], "violations": [], "cost": {"monthly": {"best": 1, "expected": 2, "worst": 3},
                                                          "items": [], "usd_per_mtok": rows}}


def test_changed_per_mtok_is_listed_base_to_head(plan_diff):
    run = plan_diff.PlanRun
    d = plan_diff.diff_stack("prod", run("prod", 0, _doc(1.25)), run("prod", 0, _doc(0.9)))
    text = plan_diff.render_markdown([d], base_ref="main")
    assert "**$/Mtok at planned traffic**" in text
    assert "- `llama-70b`: $1.250 → $0.900 (input $0.500, output $2.000)" in text


def test_unchanged_or_absent_per_mtok_adds_nothing(plan_diff):
    run = plan_diff.PlanRun
    same = plan_diff.diff_stack("prod", run("prod", 0, _doc(1.25)), run("prod", 0, _doc(1.25)))
    none = plan_diff.diff_stack("dev", run("dev", 0, _doc(None)), run("dev", 0, _doc(None)))
    assert "$/Mtok" not in plan_diff.render_markdown([same, none])
    new = plan_diff.diff_stack("prod", run("prod", 0, _doc(None)), run("prod", 0, _doc(2.0)))
    assert "- `llama-70b`: — → $2.000" in plan_diff.render_markdown([new])
