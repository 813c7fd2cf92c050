"""scripts/refresh_catalog.py --savings-plans against real HTTP: the Savings Plans API (rest-json, botocore
savingsplans 2019-06-28; moto 5.2.5 has none) answered by the loopback gateway, rows written to commitments.yaml."""
from __future__ import annotations

import datetime

import pytest
import yaml

from components.catalog.commitments import validate_rates
from components.ops import prices_savings
from tests.ops.aws_gateway import savings_rate
from tests.ops.conftest import run_script

TODAY = datetime.date.today()
TYPE = "p5en.48xlarge"


def _seed(state) -> None:
    state.savings_rates = [
        savings_rate(TYPE, "us-east-1", "Compute", 1, "49.9"), savings_rate(TYPE, "us-east-1", "Compute", 3, "37.1"),
        savings_rate(TYPE, "us-east-1", "EC2Instance", 1, "44.2"),
        savings_rate(TYPE, "us-east-1", "EC2Instance", 3, "30.5"),
        # Not an on-demand Linux instance-hour of a shared-tenancy no-upfront plan: never taken.
        savings_rate(TYPE, "us-east-1", "Compute", 1, "90.0", operation="RunInstances:0002", description="Windows"),
        savings_rate(TYPE, "us-east-1", "Compute", 1, "55.0", usage="DedicatedUsage", tenancy="dedicated"),
        savings_rate(TYPE, "us-east-1", "Compute", 1, "40.0", payment="All Upfront"),
        savings_rate(TYPE, "us-east-1", "Compute", 1, "1.0", operation="RunInstances:0010"),
        savings_rate(TYPE, "us-west-2", "Compute", 1, "51.0"),
    ]


def _run(url, data_dir, *args):
    return run_script("refresh_catalog", ["--savings-plans", "--endpoint-url", url, "--data-dir", str(data_dir),
                                          "--types", TYPE, *args])


def test_rates_are_written_dated_and_the_rest_of_the_file_is_kept(gateway, catalog_copy):
    state, url = gateway
    _seed(state)
    before = (catalog_copy / "commitments.yaml").read_text()
    result = _run(url, catalog_copy, "--region", "us-east-1,us-west-2,eu-west-1", "--page-size", "2")
    assert result.exit_code == 0, result.output
    after = (catalog_copy / "commitments.yaml").read_text()
    rates = yaml.safe_load(after)["rates"]
    validate_rates(rates)
    row = rates["aws"][TYPE]["us-east-1"]
    assert {k: row[k] for k in row if k not in ("source", "as_of")} == {
        "savings_plan_1y": 49.9, "savings_plan_3y": 37.1, "instance_savings_plan_1y": 44.2,
        "instance_savings_plan_3y": 30.5}
    assert row["as_of"] == TODAY and row["source"] == prices_savings.SOURCE
    assert rates["aws"][TYPE]["us-west-2"]["savings_plan_1y"] == 51.0
    assert "eu-west-1: not refreshed" in result.stdout and "eu-west-1" not in rates["aws"][TYPE]
    # Comments, the GCP rows and their anchors are byte-identical.
    assert before.split("rates:")[0] == after.split("rates:")[0]
    assert before[before.index("  gcp:"):] == after[after.index("  gcp:"):]
    assert state.calls["DescribeSavingsPlansOfferingRates"] >= 4  # 4+ matching us-east-1 rows, 2 per page


def test_dry_run_writes_nothing(gateway, catalog_copy):
    state, url = gateway
    _seed(state)
    before = (catalog_copy / "commitments.yaml").read_text()
    result = _run(url, catalog_copy, "--region", "us-east-1", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "savings_plan_1y 49.9" in result.stdout
    assert (catalog_copy / "commitments.yaml").read_text() == before


def test_a_second_refresh_keeps_other_rows_with_their_own_date(gateway, catalog_copy):
    state, url = gateway
    _seed(state)
    assert _run(url, catalog_copy, "--region", "us-east-1").exit_code == 0
    text = (catalog_copy / "commitments.yaml").read_text().replace(f"as_of: {TODAY.isoformat()}", "as_of: 2026-01-02")
    (catalog_copy / "commitments.yaml").write_text(text)
    assert _run(url, catalog_copy, "--region", "us-west-2").exit_code == 0
    rates = yaml.safe_load((catalog_copy / "commitments.yaml").read_text())["rates"]["aws"][TYPE]
    assert rates["us-east-1"]["as_of"] == datetime.date(2026, 1, 2) and rates["us-west-2"]["as_of"] == TODAY


def test_throttled_calls_are_retried_and_unknown_types_refused(gateway, catalog_copy):
    state, url = gateway
    _seed(state)
    state.inject("DescribeSavingsPlansOfferingRates", 2)
    assert _run(url, catalog_copy, "--region", "us-east-1").exit_code == 0
    refused = run_script("refresh_catalog", ["--savings-plans", "--endpoint-url", url, "--data-dir", str(catalog_copy),
                                             "--types", "p9.huge"])
    assert refused.exit_code == 2 and "--types: p9.huge" in refused.output


def test_refreshed_rates_price_an_aws_floor(gateway, catalog_copy, monkeypatch):
    """End to end: before the refresh prod's savings_plan_1y is refused (no dated rate); after, the H200 floor in
    us-east-1 is priced at the API's rate and the plan shows the saving against on-demand."""
    from components.catalog import commitments, load_catalog
    from tests.conftest import plan_of
    from tests.plan.test_commitments import _prod

    state, url = gateway
    _seed(state)
    assert _run(url, catalog_copy, "--region", "us-east-1").exit_code == 0
    monkeypatch.setattr(commitments, "COMMITMENTS_FILE", catalog_copy / "commitments.yaml")
    commitments._rows.cache_clear()
    try:
        plan = plan_of(_prod(aws_commitment="savings_plan_1y"))
    finally:
        commitments._rows.cache_clear()
    floor = next(i for i in plan.cost.items if i.resource == "h200-use1-reserved")
    assert floor.hourly.best == floor.hourly.worst == 49.9
    on_demand = load_catalog().price("aws", TYPE, "us-east-1").on_demand
    (line,) = plan.cost.to_json()["commitments"]
    assert line["saving_monthly"] == pytest.approx((on_demand - 49.9) * 730, abs=0.01)
