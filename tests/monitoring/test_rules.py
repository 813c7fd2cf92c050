"""Rules and dashboards as data: they parse, use only known metric names, carry guidance, follow the spec."""
from __future__ import annotations

import promql_parser
import pytest
import yaml

from components.catalog import load_catalog
from components.catalog.metrics import known_metrics, parse_version, vllm_metrics
from components.plan.alerts import alerts, rule_file, rule_groups
from components.plan.dashboards import dashboard_exprs, dashboards
from tests.conftest import STACKS, require_tool
from tests.monitoring.helpers import plan_of, stack_plan, variant


def metric_names(expr: str) -> set[str]:
    """Every series name a PromQL expression selects (parsing fails loudly on bad syntax)."""
    found: set[str] = set()
    promql_parser.walk(promql_parser.parse(expr),
                       lambda node: found.add(node.name) if isinstance(node, promql_parser.VectorSelector) else None)
    return found


def all_exprs(spec) -> list[str]:
    rules = [r["expr"] for g in spec.monitoring.rule_groups for r in g["rules"]]
    return rules + [e for board in spec.monitoring.dashboards.values() for e in dashboard_exprs(board)]


@pytest.mark.parametrize("stack", STACKS)
def test_every_expression_parses_and_uses_known_metrics(stack):
    spec = stack_plan(stack)
    recorded = {r["record"] for g in spec.monitoring.rule_groups for r in g["rules"] if "record" in r}
    allowed = known_metrics(spec.monitoring.facts.metrics.version) | recorded
    for expr in all_exprs(spec):
        unknown = metric_names(expr) - allowed
        assert not unknown, f"{expr!r} uses {unknown}"


def test_a_bad_expression_or_unknown_metric_is_caught():
    with pytest.raises(ValueError):
        metric_names("sum by (model_name) (rate(vllm:generation_tokens_total[5m])")
    assert metric_names("rate(vllm:gpu_cache_usage_perc[5m]) / up") - known_metrics("v0.15.1") == {
        "vllm:gpu_cache_usage_perc"}


@pytest.mark.parametrize(("version", "kv", "itl"), [
    ("v0.8.5", "vllm:gpu_cache_usage_perc", "vllm:time_per_output_token_seconds"),  # before both renames
    ("v0.9.0", "vllm:kv_cache_usage_perc", "vllm:time_per_output_token_seconds"),  # KV renamed (PR #18354)
    ("0.11.0", "vllm:kv_cache_usage_perc", "vllm:inter_token_latency_seconds"),  # ITL renamed (PR #24110)
    ("v0.15.1", "vllm:kv_cache_usage_perc", "vllm:inter_token_latency_seconds"),  # pinned release
])
def test_vllm_names_follow_the_version(version, kv, itl):
    names = vllm_metrics(version)
    assert (names.kv_cache_usage, names.inter_token_latency_seconds) == (kv, itl)


def test_rules_and_dashboards_use_the_deployed_versions_names():
    old = plan_of(variant("dev", serving={"vllm_version": "v0.8.5"}))
    text = yaml.safe_dump(rule_file(old.monitoring.facts)) + str(old.monitoring.dashboards)
    assert "vllm:gpu_cache_usage_perc" in text and "vllm:kv_cache_usage_perc" not in text
    assert "vllm:time_per_output_token_seconds" in text
    new = yaml.safe_dump(rule_file(stack_plan("dev").monitoring.facts)) + str(stack_plan("dev").monitoring.dashboards)
    assert "vllm:kv_cache_usage_perc" in new and "vllm:gpu_cache_usage_perc" not in new
    with pytest.raises(ValueError):
        parse_version("latest")


@pytest.mark.parametrize("stack", STACKS)
def test_every_alert_has_summary_runbook_and_severity(stack):
    spec = stack_plan(stack)
    rules = [r for g in spec.monitoring.rule_groups for r in g["rules"] if "alert" in r]
    # 16 alerts (p50 latency, token speed and batch size among them), plus the two reservation alerts when a
    # ladder has a reserved/capacity-block rung.
    assert len(rules) == (18 if spec.monitoring.facts.reserved_nodes else 16)
    for rule in rules:
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert rule["annotations"]["summary"] and len(rule["annotations"]["runbook"]) > 30


def test_thresholds_come_from_the_spec():
    spec = plan_of(variant("dev", monitoring={"gpu_idle_threshold_pct": 20, "slo": {"ttft_p95_seconds": 0.7,
                                                                                    "e2e_p99_seconds": 8,
                                                                                    "error_rate": 0.005}}))
    exprs = {a.name: a.expr for a in alerts(spec.monitoring.facts)}
    assert exprs["GpuIdle"].endswith("< 20.0")
    assert exprs["VllmTtftP95High"].endswith("> 0.7")
    assert exprs["VllmE2eLatencyP99High"].endswith("> 8.0")
    assert exprs["VllmErrorRateHigh"].endswith("> 0.005")
    assert 'namespace="llm"' in exprs["VllmModelLoadSlow"]


def test_gpu_memory_threshold_clears_the_vllm_reservation():
    # Seed threshold 90 %, but vLLM pre-allocates gpu_memory_utilization: the alert sits 5 points above it.
    assert stack_plan("dev").monitoring.facts.memory_ratio == 0.95
    raw = variant("dev")
    raw["gpuinfra:models"][0]["gpu_memory_utilization"] = 0.8
    assert plan_of(raw).monitoring.facts.memory_ratio == 0.9


def test_node_prices_are_the_catalogs():
    spec, catalog = stack_plan("prod"), load_catalog()
    prices = {(p, t): usd for p, t, usd in spec.monitoring.facts.node_prices}
    on_demand = catalog.price("aws", "g6e.xlarge", "us-east-1").on_demand
    assert prices[("l40s-use1", "on-demand")] == pytest.approx(on_demand, abs=1e-4)
    spots = [p.spot for t in ("g6e.xlarge", "g6e.2xlarge") if (p := catalog.price("aws", t, "us-east-1")) and p.spot]
    spot = min(spots) if spots else on_demand  # cost model: unknown spot price means no discount
    assert prices[("l40s-use1", "spot")] == pytest.approx(spot, abs=1e-4)
    # One constant per (pool, tier) rung of every ladder; reserved rungs get an expected-node count.
    assert {(p, t) for p, t, _ in spec.monitoring.facts.reserved_nodes} == {("h200-use1", "reserved"),
                                                                              ("h100-gke", "reserved")}


@pytest.mark.parametrize("stack", STACKS)
def test_promtool_checks_the_rule_file(stack, tmp_path):
    promtool = require_tool("promtool")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rule_file(stack_plan(stack).monitoring.facts), sort_keys=False))
    import subprocess

    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_seed_serving_objectives_are_alerted():
    """The seed documents' p50 (2 s), token speed (20 tokens/s per request) and batch size (4) objectives each
    have an alert on vLLM metrics that exist at the pinned version (v1/metrics/loggers.py at that tag)."""
    by_name = {a.name: a for a in alerts(stack_plan("prod").monitoring.facts)}
    assert "histogram_quantile(0.5," in by_name["VllmE2eLatencyP50High"].expr
    assert by_name["VllmE2eLatencyP50High"].expr.endswith("> 2")
    assert "vllm:inter_token_latency_seconds_sum" in by_name["VllmTokenSpeedLow"].expr
    assert by_name["VllmTokenSpeedLow"].expr.endswith("> 0.05")  # 1 / 20 tokens/s
    assert "vllm:num_requests_running" in by_name["VllmBatchSizeLow"].expr and "< 4" in by_name["VllmBatchSizeLow"].expr
