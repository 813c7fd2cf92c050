"""The headline case of issue 20 as a committed example stack: it plans, derives replicas, stays under 30 % of $333k."""
from __future__ import annotations

import json
import subprocess
import sys

import yaml

from tests.conftest import ROOT, plan_of

FILE = ROOT / "stacks" / "examples" / "Pulumi.example-70b.yaml"
REFERENCE_MONTHLY = 333_000  # the reference: 192 H100, FP16, 12 replicas


def _plan():
    return plan_of(yaml.safe_load(FILE.read_text())["config"])


def test_the_example_derives_replicas_in_three_regions():
    plan = _plan()
    regions = {p.region for p in plan.serving}
    assert regions == {"us-east-1", "eu-west-1", "ap-southeast-1"}  # the regions, all priced now
    for p in plan.serving:
        t = p.traffic
        assert p.fits and t is not None and t.availability == "region"
        assert t.replica.ttft_s <= 3 and t.replica.itl_s <= 0.05
        # Losing one region: the other two carry 500k/day at peak within the objectives.
        assert 2 * t.replicas_peak * t.replica.requests_per_second >= t.peak_rps * 3


def test_the_example_costs_at_most_30_percent_of_the_reference():
    plan = _plan()
    assert plan.cost.monthly.worst <= 0.30 * REFERENCE_MONTHLY  # even at maximum scale, all on-demand
    assert plan.cost.monthly.worst <= plan.basis.spec.budget.monthly_usd
    assert plan.cost.per_mtok and plan.cost.per_mtok[0].usd_per_mtok > 0


def test_the_example_plans_with_exit_0_from_the_cli():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "plan.py"), "example-70b", "--config-file", str(FILE),
                           "--json"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)
    assert doc["cost"]["usd_per_mtok"][0]["model"] == "chat-70b"
    assert all(row["traffic"]["replicas_peak"] >= 1 for row in doc["sizing"])
    assert not [v for v in doc["violations"] if v["level"] == "mandatory"]
