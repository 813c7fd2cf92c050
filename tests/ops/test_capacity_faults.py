"""capacity.py and refresh_catalog.py under faults (issue 21.13) and the Capacity Block search (17.3): one error
line, the documented exit code, a bounded retry budget. AWS is moto behind the loopback gateway (which also
answers DescribeCapacityBlockOfferings, which moto lacks); GCP is the loopback server; unreachable endpoints are
closed loopback ports; "no network" refuses every socket connect."""
from __future__ import annotations

import errno
import json
import re
import socket

import pytest
import yaml

from tests.conftest import ROOT
from tests.ops.conftest import run_script

CAPACITY = ["--instance-types", "p5en.48xlarge", "--regions", "us-east-1"]


@pytest.fixture
def small_budget(monkeypatch):
    """Two attempts per call and short timeouts, as the --help says the variables do."""
    monkeypatch.setenv("GPUINFRA_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("GPUINFRA_CONNECT_TIMEOUT", "0.5")
    monkeypatch.setenv("GPUINFRA_READ_TIMEOUT", "20")  # moto answers some EC2 calls slowly


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr + result.stdout
    assert "Traceback" not in result.output
    return lines[0]


def _refresh(args, catalog_copy):
    return run_script("refresh_catalog", [*args, "--data-dir", str(catalog_copy)])


def test_unreachable_aws_endpoint_is_exit_1(small_budget, catalog_copy):
    url = _dead_url()
    for result in (run_script("capacity", [*CAPACITY, "--endpoint-url", url]),
                   _refresh(["--cloud", "aws", "--types", "p5en.48xlarge", "--endpoint-url", url], catalog_copy)):
        assert result.exit_code == 1
        assert _one_error_line(result).startswith("error: cannot reach the AWS endpoint after the retry budget: ")


def test_no_network_is_exit_1(small_budget, monkeypatch, catalog_copy):
    import urllib3.util.connection

    def unreachable(*args, **kwargs):
        raise OSError(errno.ENETUNREACH, "Network is unreachable")
    monkeypatch.setattr(urllib3.util.connection, "create_connection", unreachable)
    result = run_script("capacity", CAPACITY)  # the real AWS endpoints, never reached
    assert result.exit_code == 1 and "cannot reach the AWS endpoint" in _one_error_line(result)
    result = _refresh(["--cloud", "gcp", "--types", "g2-standard-4", "--gcp-anonymous"], catalog_copy)
    assert result.exit_code == 1
    assert _one_error_line(result).startswith("error: GCP call gave up after the retry budget: ")


def test_refused_gcp_endpoint_is_exit_1(small_budget, catalog_copy):
    url = _dead_url()
    capacity = run_script("capacity", ["--accelerator", "nvidia-l4", "--gcp-project", "p", "--gcp-endpoint", url,
                                       "--gcp-anonymous"])
    refresh = _refresh(["--cloud", "gcp", "--billing-endpoint", url, "--gcp-anonymous"], catalog_copy)
    for result in (capacity, refresh):
        assert result.exit_code == 1
        assert _one_error_line(result).startswith("error: GCP call gave up after the retry budget: ")


@pytest.mark.parametrize("flag", ["--endpoint-url", "--gcp-endpoint"])
@pytest.mark.parametrize("url", ["localhost:5000", "htp://x", "http://", "http://h:70000"])
def test_malformed_endpoint_is_exit_2(flag, url):
    args = CAPACITY if flag == "--endpoint-url" else ["--accelerator", "nvidia-l4", "--gcp-project", "p",
                                                      "--gcp-anonymous"]
    result = run_script("capacity", [*args, flag, url])
    assert result.exit_code == 2
    assert _one_error_line(result) == (f"error: {flag}: {url!r} is not an endpoint URL (expected "
                                       "http(s)://host[:port], e.g. http://127.0.0.1:5000)")


def test_malformed_endpoint_refresh_is_exit_2(catalog_copy):
    for flag in ("--endpoint-url", "--billing-endpoint"):
        result = _refresh(["--cloud", "all", flag, "nohost"], catalog_copy)
        assert result.exit_code == 2 and _one_error_line(result).startswith(f"error: {flag}: 'nohost'")


def test_unknown_stack_is_exit_2():
    result = run_script("capacity", ["--stack", "nope", "--pool", "x"])
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert line.startswith("error: --stack nope: stack file not found") and "available stacks: dev, prod, staging" \
        in line


def test_bad_budget_variable_is_exit_2(monkeypatch, catalog_copy):
    monkeypatch.setenv("GPUINFRA_MAX_ATTEMPTS", "lots")
    result = _refresh(["--cloud", "aws"], catalog_copy)
    assert result.exit_code == 2
    assert _one_error_line(result) == "error: GPUINFRA_MAX_ATTEMPTS: 'lots' must be a int from 1 to 20"


def test_aws_http_500_after_the_retry_budget_is_exit_1(small_budget, gateway, catalog_copy):
    state, url = gateway
    state.inject("DescribeInstanceTypeOfferings", 100, kind="500")
    result = run_script("capacity", [*CAPACITY, "--endpoint-url", url])
    assert result.exit_code == 1
    assert _one_error_line(result) == ("error: AWS DescribeInstanceTypeOfferings failed (HTTP 500) after the retry "
                                       "budget: InternalError: injected 500 on DescribeInstanceTypeOfferings")
    assert state.calls["DescribeInstanceTypeOfferings"] == 2  # GPUINFRA_MAX_ATTEMPTS
    state.inject("GetProducts", 100, kind="500")
    result = _refresh(["--cloud", "aws", "--types", "p5en.48xlarge", "--region", "us-east-1", "--endpoint-url",
                       url], catalog_copy)
    assert result.exit_code == 1 and "AWS GetProducts failed (HTTP 500)" in _one_error_line(result)
    assert state.calls["GetProducts"] == 2


def test_gcp_http_500_after_the_retry_budget_is_exit_1(small_budget, gcp, catalog_copy):
    state, url = gcp
    state.fail["/v1/services"] = [100, 500]
    result = _refresh(["--cloud", "gcp", "--billing-endpoint", url, "--gcp-anonymous"], catalog_copy)
    assert result.exit_code == 1
    assert _one_error_line(result).startswith("error: GCP call gave up after the retry budget: InternalServerError")
    tries = sum(1 for c in state.calls if c.endswith("/skus"))
    assert tries == 2  # GPUINFRA_MAX_ATTEMPTS, whatever the jittered waits (api_core has only a deadline)


def test_gcp_http_500_then_success_is_retried(gcp, catalog_copy):
    state, url = gcp
    state.fail["/v1/services"] = [1, 503]
    result = _refresh(["--cloud", "gcp", "--billing-endpoint", url, "--gcp-anonymous", "--dry-run"], catalog_copy)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("script", ["capacity", "refresh_catalog", "upload_weights"])
def test_help_states_exit_codes_and_retry_budget(script):
    result = run_script(script, ["--help"])
    text = re.sub(r"[\s│╭╮╰╯─]+", " ", result.stdout)
    assert "Exit codes: 0 ok; 1 operational failure" in text and "2 bad input" in text and "3 internal error" in text
    assert "Retry budget per cloud call: at most 5 attempts" in text and "GPUINFRA_MAX_ATTEMPTS" in text


# --- 17.3: Capacity Block offerings for the blocks a stack declares --------------------------------------

def _blocks(state, *rows):
    state.blocks = [dict(region="us-east-1", instance_type="p5.48xlarge", count=2, hours=48, **row) for row in rows]


def _stack_with_blocks(tmp_path, entries: list[dict]):
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    doc["config"]["gpuinfra:aws"]["capacity_blocks"] = entries
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


BLOCK = {"instance_type": "p5.48xlarge", "count": 2, "duration_hours": 48, "start_after": "2026-12-10",
         "end_before": "2027-01-01"}


def test_stack_blocks_choose_the_cheapest_and_print_the_keys(gateway, tmp_path):
    state, url = gateway
    _blocks(state,
            dict(id="cb-0aaa", zone="us-east-1a", fee="81000.00", start="2026-12-12T11:30:00Z",
                 end="2026-12-14T11:30:00Z"),
            dict(id="cb-0bbb", zone="us-east-1c", fee="79500.50", start="2026-12-20T11:30:00Z",
                 end="2026-12-22T11:30:00Z"),
            dict(id="cb-0ccc", zone="us-east-1b", fee="70000.00", start="2026-12-01T11:30:00Z",  # before the window
                 end="2026-12-03T11:30:00Z"),
            dict(id="cb-0ddd", zone="us-east-1b", fee="60000.00", start="2026-12-30T11:30:00Z",  # ends after it
                 end="2027-01-01T11:30:00Z"))
    stack_file = _stack_with_blocks(tmp_path, [{"name": "h100-dec", **BLOCK}])
    result = run_script("capacity", ["--capacity-blocks", "--stack", "prod", "--stack-file", str(stack_file),
                                     "--endpoint-url", url, "--page-size", "1"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "aws.capacity_blocks[0] h100-dec: p5.48xlarge x2 for 48 h in us-east-1" in out
    assert "2 offering(s)" in out and "cb-0ccc" not in out and "cb-0ddd" not in out
    assert "    aws.capacity_blocks[].offering_id: cb-0bbb\n    aws.capacity_blocks[].availability_zone: us-east-1c" \
        in out
    assert "fee 79,500.50 USD upfront" in out and "window 2026-12-20" in out
    assert state.calls["DescribeCapacityBlockOfferings"] == 2  # one offer per page, every page read


def test_flag_blocks_json_and_zero_offerings_exit_1(gateway):
    state, url = gateway
    _blocks(state, dict(zone="us-east-1a", fee="90000.00", start="2026-12-12T11:30:00Z", end="2026-12-14T11:30:00Z"))
    base = ["--capacity-blocks", "--instance-types", "p5.48xlarge", "--regions", "us-east-1", "--block-count", "2",
            "--endpoint-url", url]
    found = run_script("capacity", [*base, "--block-hours", "48", "--json"])
    assert found.exit_code == 0, found.output
    (block,) = json.loads(found.stdout)
    assert block["chosen"]["availability_zone"] == "us-east-1a" and block["chosen"]["upfront_fee"] == 90000.0
    assert block["chosen"]["offering_id"].startswith("cb-")
    none = run_script("capacity", [*base, "--block-hours", "72"])  # no 72 h offering
    assert none.exit_code == 1
    assert "0 offering(s)" in none.stdout and "no offering: widen the date window" in none.stdout
    assert _one_error_line(none) == "error: no Capacity Block offering for p5.48xlarge in us-east-1"


@pytest.mark.parametrize("args, message", [
    (["--block-hours", "30"], "error: --block-hours: 30 is not a Capacity Block length"),
    (["--start-after", "12/10/2026"], "error: --start-after: '12/10/2026' is not a date (YYYY-MM-DD)"),
])
def test_flag_blocks_bad_input_exit_2(args, message):
    result = run_script("capacity", ["--capacity-blocks", "--instance-types", "p5.48xlarge", "--regions",
                                     "us-east-1", "--block-count", "2", *args])
    assert result.exit_code == 2 and _one_error_line(result).startswith(message)


def test_stack_without_blocks_is_exit_2(tmp_path):
    result = run_script("capacity", ["--capacity-blocks", "--stack", "prod", "--stack-file",
                                     str(_stack_with_blocks(tmp_path, []))])
    assert result.exit_code == 2
    assert _one_error_line(result) == "error: --stack prod: no aws.capacity_blocks[] entries to search for"


def test_settled_blocks_are_not_searched_again_and_a_zone_limits_the_search(gateway, tmp_path):
    """Issue 17 item 3: once the stack names its offering (and once bought, the offering leaves the market) a later
    search must not propose another one; an availability_zone alone keeps only that zone's offerings."""
    state, url = gateway
    _blocks(state,
            dict(id="cb-0aaa", zone="us-east-1a", fee="70000.00", start="2026-12-12T11:30:00Z",
                 end="2026-12-14T11:30:00Z"),
            dict(id="cb-0ddd", zone="us-east-1d", fee="80000.00", start="2026-12-13T11:30:00Z",
                 end="2026-12-15T11:30:00Z"))
    stack_file = _stack_with_blocks(tmp_path, [
        {"name": "bought", **BLOCK, "offering_id": "cb-0e1e1e1e1", "availability_zone": "us-east-1c"},
        {"name": "in-d", **BLOCK, "availability_zone": "us-east-1d"}])
    result = run_script("capacity", ["--capacity-blocks", "--stack", "prod", "--stack-file", str(stack_file),
                                     "--endpoint-url", url])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "aws.capacity_blocks[0] bought: offering cb-0e1e1e1e1 in us-east-1c is set in the stack; not searched" in out
    assert "    aws.capacity_blocks[].offering_id: cb-0ddd\n    aws.capacity_blocks[].availability_zone: us-east-1d" in out
    assert "cb-0aaa" not in out  # cheaper, but outside the entry's zone
    assert state.calls["DescribeCapacityBlockOfferings"] == 1  # only the unsettled entry
