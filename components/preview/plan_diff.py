"""Resource, cost and policy diff of two offline plans (``scripts/plan.py --json`` documents) per stack."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional


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


def list_stacks(*directories: Optional[Path]) -> list[str]:
    """Stacks with a plan in any of ``directories``, in promotion order (dev, staging, prod), then by name."""
    found = {p.stem for d in directories if d and d.is_dir() for p in d.iterdir() if p.suffix in (".json", ".rc")}
    order = {"dev": 0, "staging": 1, "prod": 2}  # the promotion order reads best; others follow by name
    return sorted(found, key=lambda s: (order.get(s, 3), s))

