"""Architecture rule: spec, catalog and plan are pure (no Pulumi or cloud SDK imports)."""
from __future__ import annotations

import ast
import re

import pytest

from tests.conftest import ROOT

PURE = ["components/spec", "components/catalog", "components/plan"]
FORBIDDEN = ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_kubernetes", "pulumi_random", "boto3", "botocore", "google")


def _imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("package", PURE)
def test_pure_layers_import_no_cloud_sdk(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    bad = [f"{f.relative_to(ROOT)}: {name}" for f in files for name in _imports(f)
           if name.split(".")[0] in FORBIDDEN]
    assert not bad, bad


def test_the_checker_sees_a_violation(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("import pulumi_aws as aws\nfrom google.cloud import storage\n")
    assert [n for n in _imports(sample) if n.split(".")[0] in FORBIDDEN] == ["pulumi_aws", "google.cloud"]


def test_the_spec_never_imports_the_planner():
    """``spec -> plan`` would be a cycle: checks that need planning run inside ``plan_stack`` (issue 16)."""
    files = sorted((ROOT / "components" / "spec").rglob("*.py"))
    bad = [f"{f.relative_to(ROOT)}: {name}" for f in files for name in _imports(f)
           if name.startswith("components.plan")]
    assert not bad, bad



#: The only parts of ``components.spec`` a component may import: the error type for refusals that depend on what
#: the cloud answers at run time (e.g. a zone the account does not have) and the shared literals (``Cloud``).
SPEC_ALLOWED = {"components.spec": {"ConfigError"}, "components.spec.errors": {"ConfigError", "key_path"},
                "components.spec.base": {"Cloud"}}
SPEC_READ = re.compile(r"\bStackSpec\b|\bPlanBasis\b|\.basis\b")


def _spec_imports(path):
    """(module, name) of every ``from components.spec... import name`` in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("components.spec"):
            yield from ((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from ((alias.name, "*") for alias in node.names if alias.name.startswith("components.spec"))


def _component_files():
    return sorted(p for d in ("aws", "gcp", "k8s") for p in (ROOT / "components" / d).rglob("*.py"))


def test_components_read_no_spec():
    """Issue 16 item 2: components translate plan slices; none takes the spec or a piece of it (``GpuPoolSpec``,
    ``WeightsBucketSpec``, ...). Before it, 29 modules under aws/gcp/k8s read the spec."""
    readers = [str(p.relative_to(ROOT)) for p in _component_files() if SPEC_READ.search(p.read_text())]
    assert not readers, f"components reading the spec: {readers}"
    pieces = [f"{p.relative_to(ROOT)}: {module}.{name}" for p in _component_files() for module, name in _spec_imports(p)
              if name not in SPEC_ALLOWED.get(module, set())]
    assert not pieces, f"components importing spec sections: {pieces}"


def test_the_spec_import_checker_sees_a_section(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("from components.spec.capacity import GpuPoolSpec\nfrom components.spec import ConfigError\n")
    assert list(_spec_imports(sample)) == [("components.spec.capacity", "GpuPoolSpec"), ("components.spec", "ConfigError")]
