"""Commitments on the always-on floor: Savings Plans (AWS) and committed-use discounts (GCP), priced from dated
catalog rows; the plan shows the saving against on-demand and never buys anything (issue 20 item 5)."""
from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from components.catalog import load_catalog
from components.catalog.commitments import commitment_rate
from components.spec.errors import ConfigError
from tests.conftest import ROOT, plan_of, raw_stack


def _prod(gcp_commitment=None, aws_commitment=None, gcp_capacity=None) -> dict:
    raw = copy.deepcopy(raw_stack("prod"))
    pool = raw["gpuinfra:gcp"]["gpu_pools"][0]
    if gcp_capacity is not None:
        pool["capacity"] = gcp_capacity
        raw["gpuinfra:gcp"]["reservations"] = []
    if gcp_commitment:
        pool["capacity"]["commitment"] = gcp_commitment
    if aws_commitment:
        raw["gpuinfra:aws"]["gpu_pools"][0]["capacity"]["commitment"] = aws_commitment
    return raw


def test_cud_rates_agree_with_the_published_a3_figures():
    """clouds.md (Cloud Billing Catalog export 2026-07-30): a3-highgpu-8g us-central1 1-year CUD about $61.38/h,
    3-year about $38.86/h; the rows come from another export (Cyclenerd pricing.yml, 2025-03-06)."""
    assert commitment_rate("gcp", "a3-highgpu-8g", "us-central1", "cud_1y").usd == pytest.approx(61.38, abs=0.01)
    assert commitment_rate("gcp", "a3-highgpu-8g", "us-central1", "cud_3y").usd == pytest.approx(38.86, abs=0.01)


@pytest.mark.parametrize("commitment", ["cud_1y", "cud_3y"])
def test_a_cud_lowers_the_floor_and_the_plan_shows_the_saving(commitment):
    """Fails before: ``commitment`` was an unknown key and a reservation never lowered cost."""
    plan = plan_of(_prod(gcp_commitment=commitment))
    rate = commitment_rate("gcp", "a3-highgpu-8g", "us-central1", commitment).usd
    on_demand = load_catalog().price("gcp", "a3-highgpu-8g", "us-central1").on_demand
    floor = next(i for i in plan.cost.items if i.resource == "h100-gke-reserved")
    assert floor.hourly.best == floor.hourly.worst == pytest.approx(rate)
    spot = next(i for i in plan.cost.items if i.resource == "h100-gke-spot")
    assert spot.hourly.worst == pytest.approx(2 * on_demand)  # the burst is not committed
    (line,) = plan.cost.to_json()["commitments"]
    assert line["pool"] == "h100-gke" and line["nodes"] == 1
    assert line["saving_monthly"] == pytest.approx((on_demand - rate) * 730, abs=0.01)
    assert line["as_of"] == "2025-03-06" and "outside Pulumi" in line["note"]


def test_without_a_commitment_nothing_changes():
    assert plan_of(raw_stack("prod")).cost.commitments == ()


@pytest.mark.parametrize("raw, message", [
    (_prod(aws_commitment="cud_1y"), "'cud_1y' is sold on GCP; aws pools take none|savings_plan_1y"),
    (_prod(gcp_commitment="savings_plan_3y"), "'savings_plan_3y' is sold on AWS; gcp pools take none|cud_1y|cud_3y"),
    (_prod(gcp_commitment="cud_1y", gcp_capacity={"spot": 2}), "needs an always-on floor"),
    (_prod(aws_commitment="instance_savings_plan_1y"), "no dated rate for p5en.48xlarge in us-east-1"),
])
def test_bad_commitments_name_the_key(raw, message):
    with pytest.raises(ConfigError, match="commitment") as info:
        plan_of(raw)
    assert message in str(info.value)


def test_the_cli_refuses_a_commitment_without_a_rate_in_one_line(tmp_path):
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump({"config": _prod(aws_commitment="savings_plan_1y")}))
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "plan.py"), "prod", "--config-file", str(path)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: gpuinfra:aws.gpu_pools[0].capacity.commitment: 'savings_plan_1y'")
