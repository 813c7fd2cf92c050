"""VM mode: each pool's burst autoscalers read only that pool's VMs, and the fallback scales on spot's shortfall.

Upstream truth: the Compute API's custom-metric filter rules as pulumi-gcp 10.2.0 documents them
(``RegionAutoscalerAutoscalingPolicyMetricArgs.filter``: AND-joined ``=`` selectors only; a resource type other than
gce_instance is a per-group metric; "If multiple TimeSeries are returned ... the autoscaler will sum their respective
values"), and Compute Engine "Scale based on Monitoring metrics" (a utilization target "creates VMs when the metric
value is above the target and deletes VMs when the metric value is below the target")."""
from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from tests.gcp import variants
from tests.gcp.conftest import Recorded

AUTOSCALER = "gcp:compute/regionAutoscaler:RegionAutoscaler"
TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
SDK_INPUTS = Path(importlib.util.find_spec("pulumi_gcp").origin).parent / "compute" / "_inputs.py"
_SELECTOR = re.compile(r'^\s*([a-z_.]+)\s*=\s*"([^"]*)"\s*$')


def _selectors(text: str) -> dict[str, str]:
    """Parse a filter the way the autoscaler accepts it: AND-joined ``key = "value"`` selectors, nothing else."""
    out = {}
    for part in text.split(" AND "):
        found = _SELECTOR.match(part)
        assert found, f"selector {part!r} is not a direct equality (the autoscaler refuses it)"
        out[found.group(1)] = found.group(2)
    return out


def _matches(selectors: dict[str, str], series: dict[str, str]) -> bool:
    return all(series.get(k) == v for k, v in selectors.items())


def _ops_agent_labels(startup_script: str) -> dict[str, str]:
    """The labels the boot script's Ops Agent config adds to vLLM's series, with the script's variables filled in."""
    variables = dict(re.findall(r"^([A-Z_]+)=(\S+)$", startup_script, re.M))
    config = startup_script.split("<<OPS\n", 1)[1].split("\nOPS\n", 1)[0]
    config = re.sub(r"\$\{([A-Z_]+)\}", lambda m: variables[m.group(1)].strip("'"), config)
    scrape = yaml.safe_load(config)["metrics"]["receivers"]["vllm"]["config"]["scrape_configs"][0]
    return scrape["static_configs"][0].get("labels", {})


def _two_regions() -> dict:
    """The VM stack plus a second L4 pool in us-east4 serving the same model (a region per pool)."""
    raw = variants.vm_mode()
    east = copy.deepcopy(raw["gpuinfra:gcp"]["gpu_pools"][0])
    east.update(name="l4-vm-east", region="us-east4")
    raw["gpuinfra:gcp"]["gpu_pools"].append(east)
    raw["gpuinfra:models"][0]["pools"].append("l4-vm-east")
    return raw


@pytest.fixture(scope="module")
def regions() -> Recorded:
    return Recorded(_two_regions(), "staging")


def test_the_sdk_still_documents_summing_and_per_group_filters():
    text = SDK_INPUTS.read_text()
    assert "the autoscaler\n               will sum their respective values" in text
    assert "This is called a per-group metric for the purpose of autoscaling." in text


def test_each_pools_autoscalers_see_only_that_pools_vms(regions):
    """Series as the Ops Agent writes them, one per VM (resource type prometheus_target), labelled by the boot script
    of the VM's own template. Each autoscaler's filter must match the series of its own pool's VMs and no other
    pool's or region's: the autoscaler sums whatever matches."""
    pools = {ladder.pool: ladder for ladder in regions.plan.ladders.values()}
    assert {ladder.region for ladder in pools.values()} == {"us-central1", "us-east4"}
    series = []  # one series per rung template: (pool, labels)
    for pool, ladder in pools.items():
        model = next(m.name for m in regions.spec.models if pool in m.pools)
        for rung in ladder.rungs:
            template = regions.one(TEMPLATE, f"{pool}-{rung.tier}-template")
            labels = _ops_agent_labels(template.inputs["metadataStartupScript"])
            series.append((pool, {"resource.type": "prometheus_target", "metric.labels.model_name": model,
                                  **{f"metric.labels.{k}": v for k, v in labels.items()}}))
    checked = 0
    for pool, ladder in pools.items():
        for rung in (r for r in ladder.rungs if r.autoscaled):
            metric = regions.one(AUTOSCALER, f"{pool}-{rung.tier}-autoscaler").inputs["autoscalingPolicy"]["metrics"][0]
            selectors = _selectors(metric["filter"])
            assert selectors["resource.type"] != "gce_instance"  # per-group: works from zero VMs of the rung
            matched = {p for p, s in series if _matches(selectors, s)}
            assert matched == {pool}, (pool, rung.tier, metric["filter"])
            checked += 1
    assert checked >= 4


def test_the_fallback_scales_on_spots_shortfall_not_on_the_raw_queue(vm):
    """Spot takes queue_target waiting requests per VM (single-instance assignment: VMs = queue / assignment, from
    zero). The fallback holds the pool's queue at the depth the whole spot rung is assigned (utilization target):
    below it, which is where the queue stays while spot absorbs the load, the fallback adds nothing. It used to take
    queue / (2 x target) VMs, so it ran half as many VMs as spot whenever anything queued."""
    ladder = vm.plan.ladders["l4-vm"]
    spot, fallback = ladder.rung("spot"), ladder.rung("on-demand-fallback")
    model = next(m for m in vm.spec.models if "l4-vm" in m.pools)
    target = vm.plan.basis.serving_plan(model.name, "l4-vm").queue_depth_target  # the plan's (traffic or spec)
    spot_metric = vm.one(AUTOSCALER, "l4-vm-spot-autoscaler").inputs["autoscalingPolicy"]["metrics"][0]
    fb_metric = vm.one(AUTOSCALER, "l4-vm-on-demand-fallback-autoscaler").inputs["autoscalingPolicy"]["metrics"][0]
    assert spot_metric["singleInstanceAssignment"] == target and "target" not in spot_metric
    assert "singleInstanceAssignment" not in fb_metric and fb_metric["type"] == "GAUGE"
    assert spot_metric["filter"] == fb_metric["filter"]  # the same pool queue, different rules
    # The deepest queue spot is meant to carry at full size never makes the fallback grow.
    full_spot_queue = target * spot.max_nodes
    assert fb_metric["target"] >= full_spot_queue and fallback.max_nodes >= 1
