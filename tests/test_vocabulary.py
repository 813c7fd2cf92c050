"""One vocabulary (issue 16 item 5): each shared name and map is defined once, in components/catalog/vocab.py."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pulumi_aws
import pulumi_gcp

from components.catalog.vocab import BUCKET_SCHEME, CLOUDS, TAINT_EFFECT_API, bucket_url
from tests.conftest import ROOT

VOCAB = "components/catalog/vocab.py"
#: Files allowed a bare cloud literal in a comparison, each with why. May only shrink.
#: preview/mocks compares Pulumi *package* names, not clouds.
BARE_CLOUD_ALLOWED = {"components/preview/mocks.py"}
BARE_CLOUD = re.compile(r"""(==|!=)\s*["'](aws|gcp)["']|["'](aws|gcp)["']\s*(==|!=)|in\s*\(\s*["'](aws|gcp)["']""")


def _component_files():
    return sorted(p for p in (ROOT / "components").rglob("*.py") if str(p.relative_to(ROOT)) != VOCAB)


def _strings(path: Path):
    return [n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)]


def test_no_bare_cloud_literal_is_compared():
    bad = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}" for p in _component_files()
           if str(p.relative_to(ROOT)) not in BARE_CLOUD_ALLOWED
           for i, line in enumerate(p.read_text().splitlines(), 1) if BARE_CLOUD.search(line)]
    assert not bad, "compare against components.catalog.vocab AWS / GCP / CLOUDS:\n" + "\n".join(bad)


def test_the_checker_sees_a_bare_comparison():
    assert BARE_CLOUD.search('if cloud == "aws":') and BARE_CLOUD.search("for c in ('aws', 'gcp'):")
    assert not BARE_CLOUD.search("if cloud == AWS:")


def test_cloud_literal_is_defined_once():
    defs = [str(p.relative_to(ROOT)) for p in (ROOT / "components").rglob("*.py")
            if re.search(r"Literal\[\s*[\"']aws[\"']\s*,\s*[\"']gcp[\"']\s*\]", p.read_text())]
    assert defs == [VOCAB]


def test_shared_maps_are_defined_once():
    """Taint-effect enum values and bucket schemes appear as string literals only in the vocabulary module."""
    owned = {"NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE", "s3", "gs", "s3://", "gs://"}
    bad = sorted({f"{p.relative_to(ROOT)}: {s!r}" for p in _component_files()
                  if str(p.relative_to(ROOT)) not in BARE_CLOUD_ALLOWED for s in _strings(p) if s in owned})
    assert not bad, bad


def test_taint_effect_enum_matches_both_provider_schemas():
    """Upstream: pulumi_aws 7.51.1 eks NodeGroupTaint.effect and pulumi_gcp 10.2.0 container NodePoolNodeConfigTaint
    .effect document their valid values (installed SDKs, requirements.txt pins)."""
    aws_doc = (Path(pulumi_aws.__file__).parent / "eks" / "_inputs.py").read_text()
    gcp_doc = (Path(pulumi_gcp.__file__).parent / "container" / "_inputs.py").read_text()
    aws_valid = set(re.findall(r"`(\w+)`", re.search(r"The effect of the taint\. Valid values: ([^.]+)\.", aws_doc)[1]))
    gcp_valid = set(re.search(r"The taint effect\. Possible values: ([A-Z_, ]+)", gcp_doc)[1].replace(" ", "").split(","))
    assert set(TAINT_EFFECT_API.values()) <= aws_valid and set(TAINT_EFFECT_API.values()) <= gcp_valid - {"EFFECT_UNSPECIFIED"}
    assert set(TAINT_EFFECT_API) == {"NoSchedule", "PreferNoSchedule", "NoExecute"}  # core/v1 Taint.effect


def test_every_cloud_has_a_bucket_scheme():
    assert set(BUCKET_SCHEME) == set(CLOUDS)
    assert bucket_url("aws", "b", "m/r/") == "s3://b/m/r/" and bucket_url("gcp", "b") == "gs://b/"


def test_a_purchase_is_spelled_as_its_tier():
    """``capacity-block`` was ``Tier`` "capacity-block" but ``Purchase`` "capacity_block": one spelling now, the
    user-visible one (resource names, node labels, the CapacityTier tag; EC2's market type ``capacity-block``)."""
    from typing import get_args

    from components.plan.ladder import Purchase, Tier
    assert set(get_args(Purchase)) == set(get_args(Tier)) - {"on-demand-fallback"}


def test_snake_case_purchase_values_stay_out_of_the_planner():
    """``on_demand`` / ``capacity_block`` survive only as config keys and catalog price fields (identifiers)."""
    files = [p for d in ("components/plan", "components/aws", "components/gcp", "policies/rules")
             for p in sorted((ROOT / d).rglob("*.py"))] + [ROOT / "components/ops/capacity.py"]
    bad = [f"{p.relative_to(ROOT)}: {s!r}" for p in files for s in _strings(p) if s in ("on_demand", "capacity_block")]
    assert not bad, bad


def test_cloud_parameters_are_typed_with_the_literal():
    files = [p for d in ("components", "policies") for p in sorted((ROOT / d).rglob("*.py"))
             if str(p.relative_to(ROOT)) not in BARE_CLOUD_ALLOWED]
    bad = [f"{p.relative_to(ROOT)}:{i}" for p in files for i, line in enumerate(p.read_text().splitlines(), 1)
           if re.search(r"\bcloud: str\b", line)]
    assert not bad, bad
