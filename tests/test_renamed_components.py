"""Renamed components keep their deployed resources: every pre-rename URN is still reached through an alias."""
from __future__ import annotations

import json

import pytest

from components.aliases import RENAMED
from tests.conftest import ROOT, plan_json

#: URNs of the renamed components and their children, recorded on main before the rename (issue 16 item 5).
BEFORE = json.loads((ROOT / "tests/golden/vocab/renamed_urns.json").read_text())["urns"]


def _qualified_types(doc: dict) -> dict[tuple[str, str], set[str]]:
    """(type, name) -> every qualified type the engine matches it under: its own and the ones its aliases give.

    A URN is ``urn:pulumi:<stack>::<project>::<parent types $ ... $ type>::<name>``
    (https://www.pulumi.com/docs/iac/concepts/resources/names/#urns). A type-only alias swaps the last type; a
    child inherits each of its parent's alias URNs with its own name (pulumi 3.272.0 ``runtime/resource.py``
    ``inherited_child_alias``: the name keeps the parent-name prefix, unchanged here because names do not change).
    """
    by_key = {(r["type"], r["name"]): r for r in doc["resources"]}
    memo: dict[tuple[str, str], set[str]] = {}

    def quals(key: tuple[str, str]) -> set[str]:
        if key not in memo:
            r = by_key[key]
            aliases = r.get("options", {}).get("aliases", [])
            assert all(set(a) == {"type"} for a in aliases if isinstance(a, dict)), aliases
            types = {r["type"], *(a["type"] for a in aliases if isinstance(a, dict))}
            p = r.get("parent")
            parents = {""} if not p or p["type"] == "pulumi:pulumi:Stack" else {q + "$" for q in quals((p["type"], p["name"]))}
            memo[key] = {q + t for q in parents for t in types}
        return memo[key]

    return {k: quals(k) for k in by_key}


@pytest.mark.parametrize("stack", sorted(BEFORE))
def test_every_pre_rename_urn_is_covered_by_an_alias(stack):
    doc = plan_json(stack)
    covered = {f"urn:pulumi:{doc['stack']}::{doc['project']}::{q}::{name}"
               for (_, name), quals in _qualified_types(doc).items() for q in quals}
    assert not [u for u in BEFORE[stack] if u not in covered]


def test_the_old_tokens_are_gone_and_the_renames_are_registered():
    docs = [plan_json(s) for s in ("dev", "prod")]
    types = {r["type"] for d in docs for r in d["resources"]}
    assert set(RENAMED) <= types and not set(RENAMED.values()) & types
    assert sum(len(v) for v in BEFORE.values()) >= 10  # the fixture holds components and their children
