"""VM-mode scrape configuration and the render script: discovery filters, relabelling, promtool check config."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from components.plan.recording import DCGM_JOB
from components.plan.scrape import has_vm_fleets, scrape_config
from tests.conftest import ROOT, raw_stack, require_tool
from tests.monitoring.helpers import plan_of, stack_plan, variant

SCRIPT = ROOT / "scripts" / "render_monitoring.py"


def gce_vm_raw() -> dict:
    """staging with its GCP pools as VM fleets too (both discoveries in one config)."""
    raw = variant("staging")
    raw["gpuinfra:gcp"] = {**raw["gpuinfra:gcp"], "mode": "vm"}
    raw["gpuinfra:gcp"].pop("gke", None)
    raw["gpuinfra:serving"].pop("routing", None)  # the router runs on Kubernetes only
    raw["gpuinfra:models"][0].pop("canary", None)  # and so do canaries (the plan refuses one on VM pools only)
    return raw


def test_ec2_discovery_filters_on_the_stack_tags():
    config = scrape_config(stack_plan("staging").basis)
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert set(jobs) == {"vllm", DCGM_JOB, "node-exporter"}
    ports = {name: {sd["port"] for sd in job["ec2_sd_configs"]} for name, job in jobs.items()}
    assert ports == {"vllm": {8000}, DCGM_JOB: {9400}, "node-exporter": {9100}}
    filters = jobs["vllm"]["ec2_sd_configs"][0]["filters"]
    assert {"name": "tag:ManagedBy", "values": ["gpuinfra"]} in filters
    assert {"name": "tag:Environment", "values": ["staging"]} in filters
    assert {sd["region"] for sd in jobs["vllm"]["ec2_sd_configs"]} == {"us-east-2"}
    targets = {r["target_label"] for r in jobs[DCGM_JOB]["relabel_configs"]}
    assert {"node", "pool", "tier"} <= targets  # the rules join on these


def test_gce_discovery_filters_on_labels():
    spec = plan_of(gce_vm_raw())
    (job,) = [j for j in scrape_config(spec.basis, "acme")["scrape_configs"] if j["job_name"] == "vllm"]
    zones = {sd["zone"] for sd in job["gce_sd_configs"]}
    assert zones and all(z.startswith("us-central1-") for z in zones)
    sd = job["gce_sd_configs"][0]
    assert sd["project"] == "acme" and sd["port"] == 8000
    assert 'labels.managed-by = "gpuinfra"' in sd["filter"] and 'labels.environment = "staging"' in sd["filter"]


def test_kubernetes_only_stacks_have_no_vm_jobs():
    assert not has_vm_fleets(stack_plan("prod").basis.spec)
    assert scrape_config(stack_plan("prod").basis)["scrape_configs"] == []


@pytest.mark.parametrize("raw", [raw_stack("staging"), gce_vm_raw()], ids=["ec2", "ec2+gce"])
def test_promtool_accepts_the_rendered_config(raw, tmp_path):
    promtool = require_tool("promtool")
    from scripts.render_monitoring import render

    written = {p.name for p in render(raw, tmp_path, "acme")}
    assert {"prometheus.yml", "gpuinfra-rules.yaml", "gpuinfra-serving.json"} <= written
    result = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_script_writes_rules_and_dashboards_for_kubernetes_stacks(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "prod", "--out", str(tmp_path)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "prometheus.yml").exists()
    rules = yaml.safe_load((tmp_path / "gpuinfra-rules.yaml").read_text())
    assert [g["name"] for g in rules["groups"]] == ["gpuinfra-recording", "gpuinfra-alerts"]
    assert len(list((tmp_path / "dashboards").glob("*.json"))) == 3


def test_script_reports_bad_config(tmp_path):
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(yaml.safe_dump({"config": {**raw_stack("dev"), "gpuinfra:monitoring": {"retention_days": 0}}}))
    result = subprocess.run([sys.executable, str(SCRIPT), "dev", "--config-file", str(bad), "--out", str(tmp_path)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "retention_days" in result.stderr
