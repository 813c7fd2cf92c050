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



#: Components that still read the spec (issue 16 item 2, in progress). The list may only shrink: a component that
#: needs a value the plan does not hold gets a plan field, not a ``StackSpec``.
SPEC_READERS: set[str] = set()  # was 29 modules before issue 16; the last two (k8s deploy + router) went in item 2
SPEC_READ = re.compile(r"\bStackSpec\b|\bPlanBasis\b|\.basis\b")


def test_no_new_component_reads_the_spec():
    readers = {str(p.relative_to(ROOT)) for d in ("aws", "gcp", "k8s") for p in (ROOT / "components" / d).rglob("*.py")
               if SPEC_READ.search(p.read_text())}
    assert readers <= SPEC_READERS, f"components reading the spec: {sorted(readers - SPEC_READERS)}"
    assert "components/aws/watchdog.py" not in readers
