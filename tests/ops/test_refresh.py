"""scripts/refresh_catalog.py against real HTTP: Pricing get_products from the gateway (moto 5.2.5 has no Pricing
API), spot history from moto, GCP prices from the loopback Cloud Billing Catalog."""
from __future__ import annotations

import datetime

import pytest
import yaml

from components.catalog import load_catalog_from, load_raw
from components.ops import prices_aws, prices_gcp
from tests.ops.conftest import run_script
from tests.ops.gcp_server import sku

TODAY = datetime.date.today()


def _aws(args, url, data_dir):
    return run_script("refresh_catalog", ["--cloud", "aws", "--endpoint-url", url, "--data-dir", str(data_dir), *args])


def test_aws_refresh_writes_dated_rows_and_keeps_unanswered(gateway, catalog_copy):
    state, url = gateway
    before = load_raw("aws_instances.yaml", catalog_copy)["instances"]["p5en.48xlarge"]["prices"]
    regions = sorted(before)
    answered, silent = regions[0], regions[1:]
    # Two identical items for the answered key: with page size 1 they arrive on two pages.
    state.products = [dict(instanceType="p5en.48xlarge", regionCode=answered, usd="60.0000000000")] * 2
    result = _aws(["--types", "p5en.48xlarge", "--page-size", "1"], url, catalog_copy)
    assert result.exit_code == 0, result.output
    old = before[answered]["on_demand"]
    pct = f"{(60.0 - old) / old * 100:+.1f}%"
    assert f"aws p5en.48xlarge {answered}: on_demand {old} -> 60.0 ({pct})" in result.stdout
    for region in silent:
        assert f"aws p5en.48xlarge {region}: not refreshed (no price from the API; row kept)" in result.stdout
    assert state.calls["GetProducts"] == len(regions) + 1  # the answered key took two pages
    after = load_raw("aws_instances.yaml", catalog_copy)["instances"]["p5en.48xlarge"]["prices"]
    row = after[answered]
    assert (row["on_demand"], row["source"], row["as_of"]) == (60.0, prices_aws.ON_DEMAND_SOURCE, TODAY)
    assert row["spot"] == pytest.approx(1e-05) and row["spot_as_of"] == TODAY  # moto's spot history price
    assert all(after[r] == before[r] for r in silent)
    catalog = load_catalog_from(catalog_copy)
    assert catalog.price("aws", "p5en.48xlarge", answered).on_demand == 60.0
    assert (catalog_copy / "aws_instances.yaml").read_text().startswith("# AWS GPU instance types")


def test_dry_run_prints_and_writes_nothing(gateway, catalog_copy):
    state, url = gateway
    state.products = [dict(instanceType="g6e.xlarge", regionCode="us-east-1", usd="2.0000000000")]
    original = (catalog_copy / "aws_instances.yaml").read_bytes()
    result = _aws(["--types", "g6e.xlarge", "--region", "us-east-1", "--dry-run"], url, catalog_copy)
    assert result.exit_code == 0, result.output
    assert "aws g6e.xlarge us-east-1: on_demand" in result.stdout and "dry run, nothing written" in result.stdout
    assert (catalog_copy / "aws_instances.yaml").read_bytes() == original


def test_new_region_is_added(gateway, catalog_copy):
    state, url = gateway
    assert "eu-west-1" not in load_raw("aws_instances.yaml", catalog_copy)["instances"]["p5.48xlarge"]["prices"]
    state.products = [dict(instanceType="p5.48xlarge", regionCode="eu-west-1", usd="58.1000000000")]
    result = _aws(["--types", "p5.48xlarge", "--region", "eu-west-1"], url, catalog_copy)
    assert result.exit_code == 0, result.output
    assert "aws p5.48xlarge eu-west-1: added on_demand 58.1" in result.stdout
    assert "1 added" in result.stdout
    assert load_catalog_from(catalog_copy).price("aws", "p5.48xlarge", "eu-west-1").on_demand == 58.1


def test_invalid_row_is_refused_and_nothing_written(gateway, catalog_copy):
    state, url = gateway
    state.products = [dict(instanceType="g6e.xlarge", regionCode="us-east-1", usd="0.0000000000")]
    original = (catalog_copy / "aws_instances.yaml").read_bytes()
    result = _aws(["--types", "g6e.xlarge", "--region", "us-east-1"], url, catalog_copy)
    assert result.exit_code == 2
    assert "refusing to write invalid catalog rows" in result.stderr
    assert "aws_instances.yaml: instances['g6e.xlarge']: prices.us-east-1.on_demand: 0.0 must be a number > 0" \
        in result.stderr
    assert (catalog_copy / "aws_instances.yaml").read_bytes() == original


def test_throttled_pricing_calls_are_retried(gateway, catalog_copy):
    state, url = gateway
    state.products = [dict(instanceType="g6e.xlarge", regionCode="us-east-1", usd="1.9000000000")]
    state.inject("GetProducts", 3)
    result = _aws(["--types", "g6e.xlarge", "--region", "us-east-1"], url, catalog_copy)
    assert result.exit_code == 0, result.output
    assert state.calls["GetProducts"] == 4
    assert load_catalog_from(catalog_copy).price("aws", "g6e.xlarge", "us-east-1").on_demand == 1.9


def test_unknown_type_is_a_usage_error(gateway, catalog_copy):
    _, url = gateway
    result = _aws(["--types", "p9.huge"], url, catalog_copy)
    assert result.exit_code == 2 and "--types: p9.huge not in the catalog" in result.stderr


# --- GCP: Cloud Billing Catalog ---

RATES = {("core", "on"): 0.0311, ("ram", "on"): 0.0036, ("gpu", "on"): 0.56,
         ("core", "spot"): 0.0124, ("ram", "spot"): 0.0015, ("gpu", "spot"): 0.224}


def _billing_skus(regions):
    return [
        sku("G2 Instance Core running in Americas", "CPU", "OnDemand", regions, RATES[("core", "on")]),
        sku("G2 Instance Ram running in Americas", "RAM", "OnDemand", regions, RATES[("ram", "on")], "GiBy.h"),
        sku("Nvidia L4 GPU running in Americas", "GPU", "OnDemand", regions, RATES[("gpu", "on")]),
        sku("Spot Preemptible G2 Instance Core running in Americas", "CPU", "Preemptible", regions,
            RATES[("core", "spot")]),
        sku("Spot Preemptible G2 Instance Ram running in Americas", "RAM", "Preemptible", regions,
            RATES[("ram", "spot")], "GiBy.h"),
        sku("Nvidia L4 GPU attached to Spot Preemptible VMs running in Americas", "GPU", "Preemptible", regions,
            RATES[("gpu", "spot")]),
        sku("Commitment v1: G2 Cpu in Americas for 1 Year", "CPU", "Commit1Yr", regions, 0.02),
        sku("N2 Instance Core running in Americas", "CPU", "OnDemand", regions, 0.03),
    ]


def test_gcp_refresh_prices_machines_from_skus(gcp, catalog_copy):
    state, url = gcp
    state.skus = _billing_skus(["us-central1", "us-east4"])
    result = run_script("refresh_catalog", ["--cloud", "gcp", "--billing-endpoint", url, "--gcp-anonymous",
                                            "--data-dir", str(catalog_copy), "--page-size", "3"])
    assert result.exit_code == 0, result.output
    catalog = load_catalog_from(catalog_copy)
    machine = catalog.instance("gcp", "g2-standard-4")
    expected = round(machine.vcpu * RATES[("core", "on")] + machine.ram_gib * RATES[("ram", "on")]
                     + machine.gpu_count * RATES[("gpu", "on")], 6)
    spot = round(machine.vcpu * RATES[("core", "spot")] + machine.ram_gib * RATES[("ram", "spot")]
                 + machine.gpu_count * RATES[("gpu", "spot")], 6)
    price = catalog.price("gcp", "g2-standard-4", "us-central1")
    assert (price.on_demand, price.spot, price.as_of, price.source) == (expected, spot, TODAY, prices_gcp.SOURCE)
    assert "gcp a3-highgpu-8g us-central1: not refreshed" in result.stdout  # no A3/H100 SKUs served
    raw = yaml.safe_load((catalog_copy / "gcp_machines.yaml").read_text())
    assert raw["machines"]["a3-highgpu-8g"]["prices"]["us-central1"]["source"]  # kept with its provenance
    assert sum(1 for c in state.calls if c.endswith("/skus")) == 3  # 8 SKUs, 3 per page


def test_gcp_refresh_keeps_bundled_local_ssd_machines(gcp, catalog_copy):
    """A3 High bundles 16 Local SSDs billed on top of its core/RAM/GPU SKUs: the SKU sum would be ~$0.72/h low."""
    state, url = gcp
    before = load_catalog_from(catalog_copy).price("gcp", "a3-highgpu-8g", "us-central1")
    state.skus = _billing_skus(["us-central1"]) + [
        sku("A3 Instance Core running in Americas", "CPU", "OnDemand", ["us-central1"], 0.0247),
        sku("A3 Instance Ram running in Americas", "RAM", "OnDemand", ["us-central1"], 0.0021, "GiBy.h"),
        sku("Nvidia H100 80GB GPU running in Americas", "GPU", "OnDemand", ["us-central1"], 9.8)]
    result = run_script("refresh_catalog", ["--cloud", "gcp", "--billing-endpoint", url, "--gcp-anonymous",
                                            "--data-dir", str(catalog_copy), "--types", "a3-highgpu-8g"])
    assert result.exit_code == 0, result.output
    assert "gcp a3-highgpu-8g us-central1: not refreshed" in result.stdout
    assert load_catalog_from(catalog_copy).price("gcp", "a3-highgpu-8g", "us-central1") == before


def test_gcp_billing_forbidden_exit_2(gcp, catalog_copy):
    state, url = gcp
    state.deny.add("/v1/services")
    result = run_script("refresh_catalog", ["--cloud", "gcp", "--billing-endpoint", url, "--gcp-anonymous",
                                            "--data-dir", str(catalog_copy)])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: GCP permission denied (403)")
