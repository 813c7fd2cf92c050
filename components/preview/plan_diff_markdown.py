"""The plan diff as one markdown PR comment / job summary (capped lists, money deltas, violations)."""
from __future__ import annotations

from typing import Optional

from components.plan.cost import HOURS_PER_MONTH
from components.preview.plan_diff import PlanRun, StackDiff

# The hidden marker the workflow searches for to update its one PR comment in place.
MARKER = "<!-- gpuinfra-plan-diff -->"
MAX_ROWS = 40  # per list: a PR comment is capped at 65,536 characters
STATUS = {0: "✅ ok", 1: "❌ mandatory violation (exit 1)", 2: "❌ plan failed (exit 2)"}


def _usd(value: Optional[float]) -> str:
    return "—" if value is None else f"${value:,.2f}"


def _delta(before: Optional[float], after: Optional[float]) -> str:
    if before is None or after is None:
        return "—"
    pct = f"{(after - before) / before * 100:+.1f}%" if before else "n/a"
    return f"{'+' if after >= before else '−'}${abs(after - before):,.2f} ({pct})"


def _money_cells(d: StackDiff, kind: str) -> list[str]:
    old = d.diff.monthly_before and d.diff.monthly_before.get(kind)
    new = d.diff.monthly_after and d.diff.monthly_after.get(kind)
    return [f"{_usd(old)} → {_usd(new)}", _delta(old, new)]


def _status(d: StackDiff) -> str:
    if d.after is None:
        return "🗑️ stack removed"
    head = STATUS.get(d.after.exit_code, f"❌ exit {d.after.exit_code}")
    if d.before is None:
        return f"{head} · 🆕 new stack"
    return f"{head} · ⚠️ base plan failed" if _failed(d.before) else head


def _summary_row(d: StackDiff) -> str:
    x = d.diff
    resources = f"+{len(x.added)} ~{len(x.changed)} −{len(x.removed)}"
    mandatory = sum(v.get("level") == "mandatory" for v in x.new_violations)
    violations = f"{len(x.new_violations)} new ({mandatory} mandatory)" if x.new_violations else "none new"
    cells = [f"`{d.stack}`", _status(d), *_money_cells(d, "worst"), *_money_cells(d, "expected"), resources, violations]
    return "| " + " | ".join(cells) + " |"


def _capped(lines: list[str]) -> list[str]:
    extra = len(lines) - MAX_ROWS
    return lines[:MAX_ROWS] + ([f"- … and {extra} more"] if extra > 0 else [])


def _item_line(sign: str, item: dict) -> str:
    worst = (item.get("hourly") or {}).get("worst", 0.0) * HOURS_PER_MONTH
    low, high = item.get("count_min"), item.get("count_max")
    nodes = f"{low}" if low == high else f"{low}–{high}"
    return (f"- {sign} `{item.get('resource')}` ({item.get('type')}, {item.get('instance_type') or '-'}, "
            f"{item.get('region')}, {item.get('purchase')}, {nodes} node{'' if high == 1 else 's'}): worst {_usd(worst)}/month")


def _per_mtok_lines(d: StackDiff) -> list[str]:
    """$/Mtok at each model's planned traffic, base → head, when it changed (the plan's figures,
    components/plan/unit_cost.py)."""
    old = {r.get("model"): r for r in d.diff.per_mtok_before}
    new = {r.get("model"): r for r in d.diff.per_mtok_after}
    if old == new:
        return []
    lines = []
    for model in [*new, *(m for m in old if m not in new)]:
        a, b = old.get(model) or {}, new.get(model) or {}

        def fig(row: dict, key: str = "usd_per_mtok") -> str:
            return "—" if row.get(key) is None else f"${row[key]:,.3f}"
        split = f" (input {fig(b, 'usd_per_mtok_input')}, output {fig(b, 'usd_per_mtok_output')})" if b else ""
        lines.append(f"- `{model}`: {fig(a)} → {fig(b)}{split}")
    return ["**$/Mtok at planned traffic** (input + output tokens, expected GPU cost)", "", *lines, ""] if lines else []


def _failure_lines(label: str, run: Optional[PlanRun]) -> list[str]:
    if not _failed(run):
        return []
    tail = "\n".join(run.error.strip().splitlines()[-8:]) or "(no output)"
    return [f"**{label} plan failed (exit {run.exit_code}):**", "", "```text", tail.replace("```", "'''"), "```", ""]


def _violation_lines(d: StackDiff) -> list[str]:
    icon = {"mandatory": "🛑", "advisory": "⚠️"}
    lines = [f"- {icon.get(v.get('level'), '•')} **{v.get('level')}** `{v.get('policy')}` on `{v.get('resource')}`: "
             f"{v.get('message')}" for v in d.diff.new_violations]
    lines += [f"- ✅ resolved: `{v.get('policy')}` on `{v.get('resource')}`" for v in d.diff.resolved_violations]
    return ["**Violations**", "", *_capped(lines), ""] if lines else []


def _resource_lines(d: StackDiff) -> list[str]:
    x = d.diff
    lines = [f"- ➕ `{t}` `{n}`" for t, n in x.added] + [f"- ➖ `{t}` `{n}`" for t, n in x.removed]
    lines += [f"- ✏️ `{c.key[0]}` `{c.key[1]}`: {', '.join(c.fields)}" for c in x.changed]
    if not lines:
        return []
    head = f"Resources: +{len(x.added)} added, ~{len(x.changed)} changed, −{len(x.removed)} removed"
    return ["<details>", f"<summary>{head}</summary>", "", *_capped(lines), "", "</details>"]


def _failed(run: Optional[PlanRun]) -> bool:
    return run is not None and run.exit_code not in (0, 1)


def _section(d: StackDiff, base_ref: str) -> list[str]:
    x = d.diff
    body = _failure_lines("Head", d.after) + _failure_lines(f"Base (`{base_ref}`)", d.before)
    if _failed(d.before) or _failed(d.after):
        # One side has no plan: listing everything as added or removed would bury the failure.
        body += _violation_lines(d) if not _failed(d.after) else []
        return [f"#### `{d.stack}`", "", *body, ""]
    items = [_item_line("➕", i) for i in x.items_added] + [_item_line("➖", i) for i in x.items_removed]
    items += [f"- ✏️ `{c.key[1]}` ({c.key[0]}): {', '.join(c.fields)}" for c in x.items_changed]
    body += _violation_lines(d) + _per_mtok_lines(d) + (["**Cost items**", "", *_capped(items), ""] if items else [])
    body += _resource_lines(d)
    return [f"#### `{d.stack}`", "", *(body or ["No changes."]), ""]


def render_markdown(diffs: list[StackDiff], base_ref: str = "base") -> str:
    """Render stack diffs as one PR comment / job summary, starting with the hidden ``MARKER``.

    Args:
        diffs: One entry per stack, in display order.
        base_ref: Name of the base branch, shown in the title.

    Returns:
        Markdown text.
    """
    lines = [MARKER, f"### Offline plan: head vs `{base_ref}` (monthly = 730 h, USD)", "",
             "| Stack | Head plan | Worst/month | Δ worst | Expected/month | Δ expected | Resources | Violations |",
             "|---|---|---:|---:|---:|---:|---|---|"]
    lines += [_summary_row(d) for d in diffs] + [""]
    for d in diffs:
        lines += _section(d, base_ref)
    return "\n".join(lines).rstrip() + "\n"

