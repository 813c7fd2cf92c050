"""The manifest builders stay pure (no Pulumi, no cloud SDKs) and the sync script is standard library only."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

MANIFESTS = sorted((ROOT / "components" / "k8s" / "manifests").glob("*.py"))
SCRIPT = ROOT / "components" / "k8s" / "sync_weights.py"


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_builders_are_pure(path):
    assert not imported_roots(path) & {"pulumi", "pulumi_kubernetes", "boto3", "google"}


def test_sync_script_needs_only_the_standard_library():
    assert imported_roots(SCRIPT) - {"__future__"} <= set(sys.stdlib_module_names)
