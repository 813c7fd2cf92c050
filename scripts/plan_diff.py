"""Cost, resource and policy diff of offline plans (base -> head) per stack, rendered as one markdown PR comment.

Directories hold ``<stack>.json`` (``plan.py <stack> --json`` stdout), ``<stack>.rc`` (exit status), ``<stack>.err``:
    python scripts/plan_diff.py --before-dir base --after-dir head --base-ref main -o diff.md
    python scripts/plan_diff.py --pair base/prod.json --pair head/prod.json
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import typer  # noqa: E402

from components.plan.cost import HOURS_PER_MONTH  # noqa: E402

# The hidden marker the workflow searches for to update its one PR comment in place.
MARKER = "<!-- gpuinfra-plan-diff -->"
MAX_ROWS = 40  # per list: a PR comment is capped at 65,536 characters
STATUS = {0: "✅ ok", 1: "❌ mandatory violation (exit 1)", 2: "❌ plan failed (exit 2)"}


@dataclass(frozen=True)
class PlanRun:
    """One side of one stack: the exit status of ``plan.py --json``, its document (None if it failed), stderr."""

    stack: str
    exit_code: int
    document: Optional[dict] = None
    error: str = ""


@dataclass(frozen=True)
class Change:
    """A changed resource or cost item: its key and which fields differ."""
    key: tuple[str, ...]
    fields: tuple[str, ...]


@dataclass(frozen=True)
class PlanDiff:
    """What changed between two plan documents of one stack (None = no plan on that side)."""

    monthly_before: Optional[dict]
    monthly_after: Optional[dict]
    added: tuple[tuple[str, ...], ...] = ()
    removed: tuple[tuple[str, ...], ...] = ()
    changed: tuple[Change, ...] = ()
    items_added: tuple[dict, ...] = ()
    items_removed: tuple[dict, ...] = ()
    items_changed: tuple[Change, ...] = ()
    new_violations: tuple[dict, ...] = ()
    resolved_violations: tuple[dict, ...] = ()
    per_mtok_before: tuple[dict, ...] = ()
    per_mtok_after: tuple[dict, ...] = ()


@dataclass(frozen=True)
class StackDiff:
    """A stack's diff plus how each side's plan ended (``before`` None: the stack is new on the head)."""

    stack: str
    before: Optional[PlanRun]
    after: Optional[PlanRun]
    diff: PlanDiff


def _keyed(entries: list[dict], key_fields: tuple[str, ...]) -> dict[tuple[str, ...], dict]:
    """Entries by key; a repeated key gets an ``#n`` suffix so that no entry is lost."""
    out: dict[tuple[str, ...], dict] = {}
    for entry in entries:
        key = tuple(str(entry.get(f)) for f in key_fields)
        n = 1
        while key in out:
            n += 1
            key = key[:-1] + (f"{key[-1].split('#')[0]}#{n}",)
        out[key] = entry
    return out


def _resource_fields(before: dict, after: dict) -> tuple[str, ...]:
    """Changed keys of a resource: ``inputs.<key>``, ``options.<key>`` and ``parent``."""
    fields = ["parent"] if before.get("parent") != after.get("parent") else []
    for section in ("inputs", "options"):
        old, new = before.get(section) or {}, after.get(section) or {}
        fields += [f"{section}.{k}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return tuple(fields)


def _item_fields(before: dict, after: dict) -> tuple[str, ...]:
    return tuple(k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k))


def _compare(before: list[dict], after: list[dict], key_fields: tuple[str, ...], fields_of) -> tuple:
    old, new = _keyed(before, key_fields), _keyed(after, key_fields)
    added = tuple(k for k in new if k not in old)
    removed = tuple(k for k in old if k not in new)
    changed = tuple(Change(k, f) for k in new if k in old and (f := fields_of(old[k], new[k])))
    return old, new, added, removed, changed


def diff_plans(before: Optional[dict], after: Optional[dict]) -> PlanDiff:
    """Diff two ``plan.py --json`` documents of one stack.

    Args:
        before: The base branch's plan document, or None (new stack, or the base plan failed).
        after: The head's plan document, or None (stack removed, or the head plan failed).

    Returns:
        Monthly cost on each side; resources added/removed/changed by (type, name) (changed: inputs, options or
        parent differ); cost items added/removed/changed by (type, resource, instance_type, region); violations
        new on the head and resolved by it.
    """
    old, new = before or {}, after or {}
    _, _, added, removed, changed = _compare(old.get("resources", []), new.get("resources", []),
                                             ("type", "name"), _resource_fields)
    item_key = ("type", "resource", "instance_type", "region")
    items_old, items_new, i_added, i_removed, i_changed = _compare(
        (old.get("cost") or {}).get("items", []), (new.get("cost") or {}).get("items", []), item_key, _item_fields)
    v_key = ("policy", "level", "resource", "message")
    v_old, v_new = _keyed(old.get("violations", []), v_key), _keyed(new.get("violations", []), v_key)
    return PlanDiff(
        monthly_before=(old.get("cost") or {}).get("monthly") if before else None,
        monthly_after=(new.get("cost") or {}).get("monthly") if after else None,
        added=added, removed=removed, changed=changed,
        items_added=tuple(items_new[k] for k in i_added), items_removed=tuple(items_old[k] for k in i_removed),
        items_changed=i_changed,
        new_violations=tuple(v for k, v in v_new.items() if k not in v_old),
        resolved_violations=tuple(v for k, v in v_old.items() if k not in v_new),
        per_mtok_before=tuple((old.get("cost") or {}).get("usd_per_mtok") or ()),
        per_mtok_after=tuple((new.get("cost") or {}).get("usd_per_mtok") or ()),
    )


def diff_stack(stack: str, before: Optional[PlanRun], after: Optional[PlanRun]) -> StackDiff:
    """Diff one stack given how each side's plan ended (a failed side contributes no document)."""
    return StackDiff(stack, before, after, diff_plans(before and before.document, after and after.document))


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


def load_run(directory: Path, stack: str) -> Optional[PlanRun]:
    """Read ``<stack>.json/.rc/.err`` from a directory; None when the stack has no plan there at all."""
    paths = {ext: directory / f"{stack}.{ext}" for ext in ("json", "rc", "err")}
    if not any(p.exists() for p in paths.values()):
        return None
    error = paths["err"].read_text(errors="replace") if paths["err"].exists() else ""
    try:
        document = json.loads(paths["json"].read_text())
    except (OSError, json.JSONDecodeError):  # missing or empty: the plan failed before printing
        document = None
    code = int(paths["rc"].read_text().strip() or 2) if paths["rc"].exists() else (0 if document else 2)
    return PlanRun(stack, code, document if code in (0, 1) else None, error)


def _stacks(*directories: Optional[Path]) -> list[str]:
    found = {p.stem for d in directories if d and d.is_dir() for p in d.iterdir() if p.suffix in (".json", ".rc")}
    order = {"dev": 0, "staging": 1, "prod": 2}  # the promotion order reads best; others follow by name
    return sorted(found, key=lambda s: (order.get(s, 3), s))


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    before_dir: Optional[Path] = typer.Option(None, help="Base branch plans (<stack>.json/.rc/.err); may be missing."),
    after_dir: Optional[Path] = typer.Option(None, help="Head plans (<stack>.json/.rc/.err)."),
    pair: Optional[list[Path]] = typer.Option(None, help="BEFORE.json then AFTER.json (give --pair twice per stack)."),
    base_ref: str = typer.Option("base", help="Base branch name shown in the title."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the markdown here (default stdout)."),
) -> None:
    """Write the markdown diff of base and head plans."""
    if pair:
        if len(pair) % 2:
            typer.echo("--pair: give BEFORE.json and AFTER.json (an even number of --pair values)", err=True)
            raise typer.Exit(2)
        runs = [(load_run(b.parent, b.stem), load_run(a.parent, a.stem)) for b, a in zip(pair[::2], pair[1::2])]
        diffs = [diff_stack((a or b).stack, b, a) for b, a in runs if a or b]
    elif after_dir:
        diffs = [diff_stack(s, before_dir and load_run(before_dir, s), load_run(after_dir, s))
                 for s in _stacks(before_dir, after_dir)]
    else:
        typer.echo("give --after-dir (and --before-dir) or --pair BEFORE.json --pair AFTER.json", err=True)
        raise typer.Exit(2)
    text = render_markdown(diffs, base_ref)
    output.write_text(text) if output else sys.stdout.write(text)


if __name__ == "__main__":
    app()
