"""scripts/capacity.py against real HTTP: moto (offerings, spot history) behind the gateway (quotas, capacity
blocks: moto 5.2.5 implements neither Service Quotas for ec2 nor DescribeCapacityBlockOfferings), and the loopback
GCP server (acceleratorTypes/machineTypes aggregatedList, regions.get, projects.get)."""
from __future__ import annotations

import json

import boto3

from components.catalog import load_catalog
from components.ops.capacity_aws import QUOTA_CODES
from components.plan.ladder import plan_ladder
from tests.conftest import encode, raw_stack
from tests.ops.conftest import run_script


def _spec(stack: str):
    from components.spec import load_stack_spec
    return load_stack_spec(*encode(raw_stack(stack)))


def _quota_rows(values: dict[tuple[str, str], float]) -> list[dict]:
    return [{"ServiceCode": "ec2", "QuotaCode": QUOTA_CODES[key], "QuotaName": f"quota {key}", "Value": value}
            for key, value in values.items()] + [{"ServiceCode": "ec2", "QuotaCode": "L-1216C47A",
                                                  "QuotaName": "Running On-Demand Standard instances", "Value": 5.0}]


def _moto_zones(moto_url: str, region: str, instance_type: str) -> set[str]:
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=moto_url)
    offers = ec2.describe_instance_type_offerings(
        LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": [instance_type]}])
    return {o["Location"] for o in offers["InstanceTypeOfferings"]}


def _expected_needs(stack: str, pool: str) -> dict[str, int]:
    """vCPU x max nodes per purchase, derived independently from the ladder and the catalog."""
    spec = _spec(stack)
    cloud, pool_spec = spec.pool(pool)
    ladder, catalog = plan_ladder(spec, cloud, pool_spec), load_catalog()
    needs: dict[str, int] = {}
    for rung in ladder.rungs:
        vcpu = max(catalog.instance(cloud, t).vcpu for t in rung.instance_types)
        family = catalog.instance(cloud, rung.instance_types[0]).quota_family
        bucket = "spot" if rung.purchase == "spot" else "on-demand"
        needs[f"{family}/{bucket}"] = needs.get(f"{family}/{bucket}", 0) + rung.max_nodes * vcpu
    return needs


def test_pool_needs_zones_and_short_quota(gateway, moto_url):
    state, url = gateway
    needs = _expected_needs("prod", "h200-use1")
    # P on-demand quota one node short of the ladder's maximum; spot covered exactly.
    state.quotas["us-east-1"] = _quota_rows({("P", "on-demand"): needs["P/on-demand"] - 192,
                                             ("P", "spot"): needs["P/spot"]})
    result = run_script("capacity", ["--stack", "prod", "--pool", "h200-use1", "--json", "--endpoint-url", url,
                                     "--page-size", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["needs"] == needs
    assert {z["zone"] for z in report["zones"]} == _moto_zones(moto_url, "us-east-1", "p5en.48xlarge")
    quotas = {q["code"]: q for q in report["quotas"]}
    assert quotas[QUOTA_CODES[("P", "on-demand")]]["ok"] is False
    assert quotas[QUOTA_CODES[("P", "on-demand")]]["headroom"] == -192
    assert quotas[QUOTA_CODES[("P", "spot")]]["ok"] is True
    assert all(z["quota_ok"] is False for z in report["zones"])
    assert state.calls["ListServiceQuotas"] >= 3  # 3 quota rows, page size 1: every page was read


def test_ranking_prefers_zones_offering_every_type(gateway, moto_url):
    state, url = gateway
    state.quotas["us-east-1"] = _quota_rows({k: 10_000.0 for k in QUOTA_CODES})
    result = run_script("capacity", ["--instance-types", "p5en.48xlarge,p5.48xlarge", "--regions", "us-east-1",
                                     "--json", "--endpoint-url", url])
    assert result.exit_code == 0, result.output
    zones = json.loads(result.stdout)["zones"]
    both = _moto_zones(moto_url, "us-east-1", "p5en.48xlarge") & _moto_zones(moto_url, "us-east-1", "p5.48xlarge")
    assert {z["zone"] for z in zones[:len(both)]} == both
    assert all(z["missing"] == ["p5en.48xlarge"] for z in zones[len(both):])
    assert [z["rank"] for z in zones] == list(range(1, len(zones) + 1))
    assert all(z["spot_usd_h"] is not None and z["quota_ok"] for z in zones)  # moto's spot history per AZ


def test_capacity_blocks_paginated_with_fees(gateway):
    state, url = gateway
    state.quotas["us-east-1"] = _quota_rows({k: 10_000.0 for k in QUOTA_CODES})
    state.blocks = [dict(region="us-east-1", instance_type="p5en.48xlarge", zone=zone, count=2, hours=24, fee=fee,
                         start="2026-09-01T11:30:00Z", end="2026-09-02T11:30:00Z")
                    for zone, fee in (("us-east-1a", "3100.00"), ("us-east-1c", "2950.25"), ("us-east-1a", "3000.00"))]
    result = run_script("capacity", ["--instance-types", "p5en.48xlarge", "--regions", "us-east-1", "--block-count",
                                     "2", "--json", "--endpoint-url", url, "--page-size", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [b["upfront_fee"] for b in report["capacity_blocks"]] == [2950.25, 3000.0, 3100.0]
    fees = {z["zone"]: z["capacity_block_fee"] for z in report["zones"]}
    assert fees["us-east-1a"] == 3000.0 and fees["us-east-1c"] == 2950.25
    assert state.calls["DescribeCapacityBlockOfferings"] == 3  # one offer per page


def test_table_output_lists_ranked_zones(gateway):
    state, url = gateway
    state.quotas["us-east-1"] = _quota_rows({k: 10_000.0 for k in QUOTA_CODES})
    result = run_script("capacity", ["--instance-types", "g6e.xlarge", "--regions", "us-east-1", "--endpoint-url", url])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].split()[:3] == ["rank", "region", "zone"]
    assert lines[2].split()[0] == "1" and "quota us-east-1 L-DB2E81BA" in result.stdout


def test_throttled_calls_are_retried(gateway):
    state, url = gateway
    state.quotas["us-east-1"] = _quota_rows({k: 10_000.0 for k in QUOTA_CODES})
    state.inject("DescribeInstanceTypeOfferings", 3)
    state.inject("DescribeSpotPriceHistory", 2)
    state.inject("ListServiceQuotas", 2)
    result = run_script("capacity", ["--instance-types", "g6e.xlarge", "--regions", "us-east-1", "--json",
                                     "--endpoint-url", url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["zones"]
    assert state.calls["DescribeInstanceTypeOfferings"] == 4
    assert state.calls["DescribeSpotPriceHistory"] == 3


def test_denied_operation_is_one_line_exit_2(gateway):
    state, url = gateway
    state.inject("DescribeInstanceTypeOfferings", 1, kind="deny")
    result = run_script("capacity", ["--instance-types", "g6e.xlarge", "--regions", "us-east-1", "--endpoint-url", url])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: AWS permission denied on DescribeInstanceTypeOfferings: UnauthorizedOperation: "
        "UnauthorizedOperation injected on DescribeInstanceTypeOfferings"]


def test_missing_aws_credentials_exit_2(gateway, monkeypatch):
    _, url = gateway
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run_script("capacity", ["--instance-types", "g6e.xlarge", "--regions", "us-east-1", "--endpoint-url", url])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "AWS credentials not found" in result.stderr


def test_unknown_pool_is_a_usage_error():
    result = run_script("capacity", ["--stack", "prod", "--pool", "nope"])
    assert result.exit_code == 2 and "--pool: 'nope' not in stack prod" in result.stderr


# --- GCP ---

def _seed_gcp(state) -> None:
    state.zones = {
        "us-central1-a": {"accelerators": ["nvidia-h100-80gb", "nvidia-l4"], "machines": ["a3-highgpu-8g", "g2-standard-4"]},
        "us-central1-b": {"accelerators": ["nvidia-h100-80gb"], "machines": []},
        "us-central1-c": {"accelerators": ["nvidia-l4"], "machines": ["g2-standard-4"]},
        "us-east4-a": {"accelerators": ["nvidia-h100-80gb"], "machines": ["a3-highgpu-8g"]},
        "europe-west4-a": {"accelerators": [], "machines": []},
    }
    state.region_quotas = {
        "us-central1": [{"metric": "NVIDIA_H100_GPUS", "limit": 16.0, "usage": 0.0},
                        {"metric": "PREEMPTIBLE_NVIDIA_H100_GPUS", "limit": 8.0, "usage": 0.0},
                        {"metric": "CPUS", "limit": 2400.0, "usage": 10.0}],
        "us-east4": [{"metric": "NVIDIA_H100_GPUS", "limit": 64.0, "usage": 0.0},
                     {"metric": "PREEMPTIBLE_NVIDIA_H100_GPUS", "limit": 64.0, "usage": 0.0}]}
    state.project_quotas = [{"metric": "GPUS_ALL_REGIONS", "limit": 64.0, "usage": 8.0}]


def test_gcp_pool_zones_machine_types_and_quotas(gcp):
    state, url = gcp
    _seed_gcp(state)
    result = run_script("capacity", ["--stack", "prod", "--pool", "h100-gke", "--json", "--gcp-endpoint", url,
                                     "--gcp-anonymous"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    spec = _spec("prod")
    cloud, pool = spec.pool("h100-gke")
    ladder = plan_ladder(spec, cloud, pool)
    gpus = load_catalog().instance("gcp", "a3-highgpu-8g").gpu_count
    spot = sum(r.max_nodes for r in ladder.rungs if r.purchase == "spot") * gpus
    on_demand = sum(r.max_nodes for r in ladder.rungs if r.purchase != "spot") * gpus
    assert report["needs"] == {"nvidia-h100-80gb/on-demand": on_demand, "nvidia-h100-80gb/spot": spot}
    assert [(z["zone"], z["missing"]) for z in report["zones"]] == [
        ("us-central1-a", []), ("us-central1-b", ["a3-highgpu-8g"])]  # pool region only; offering zone first
    quotas = {q["metric"]: q for q in report["quotas"]}
    assert quotas["PREEMPTIBLE_NVIDIA_H100_GPUS"]["ok"] is (8 >= spot)
    assert quotas["GPUS_ALL_REGIONS"]["headroom"] == 64 - 8 - spot - on_demand
    assert sum(1 for c in state.calls if "aggregated/acceleratorTypes" in c) == 3  # 5 zones, 2 per page


def test_gcp_accelerator_all_regions_ranked(gcp):
    state, url = gcp
    _seed_gcp(state)
    result = run_script("capacity", ["--accelerator", "nvidia-h100-80gb", "--gcp-project", "p", "--json",
                                     "--gcp-endpoint", url, "--gcp-anonymous"])
    assert result.exit_code == 0, result.output
    zones = json.loads(result.stdout)["zones"]
    assert [z["zone"] for z in zones] == ["us-east4-a", "us-central1-a", "us-central1-b"]  # quota ok first


def test_gcp_forbidden_is_one_line_exit_2(gcp):
    state, url = gcp
    _seed_gcp(state)
    state.deny.add("/compute/v1/projects/p/regions")
    result = run_script("capacity", ["--accelerator", "nvidia-h100-80gb", "--gcp-project", "p",
                                     "--gcp-endpoint", url, "--gcp-anonymous"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if "Warning" not in line and line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: GCP permission denied (403)")


def test_gcp_missing_credentials_exit_2(monkeypatch, tmp_path):
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # no metadata-server probe
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    result = run_script("capacity", ["--accelerator", "nvidia-l4", "--gcp-project", "p"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == ("error: GCP credentials not found: run `gcloud auth application-default login` "
                                     "or set GOOGLE_APPLICATION_CREDENTIALS")
