"""VM mode on GCP: instance templates per rung, MIGs and autoscalers per rung, firewall, secret, startup script."""
from __future__ import annotations

import pytest

from components.catalog import load_catalog
from components.plan import names
from components.plan.gcp_access import HEALTH_CHECK_RANGES
from components.plan.gcp_shapes import node_shape
from tests.conftest import ROOT
from tests.gcp import variants

TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
MIG = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"
AUTOSCALER = "gcp:compute/regionAutoscaler:RegionAutoscaler"
FIREWALL = "gcp:compute/firewall:Firewall"
EXPECTED_MODEL = {"reserved": "STANDARD", "on-demand": "STANDARD", "on-demand-fallback": "STANDARD"}


def _rungs(vm):
    return [(pool, rung) for pool in vm.spec.gcp.gpu_pools for rung in vm.plan.ladders[pool.name].rungs]


def test_the_variant_covers_every_rung_kind(vm):
    assert {r.tier for _, r in _rungs(vm)} == {"reserved", "on-demand", "spot", "on-demand-fallback"}
    assert len(vm.of_type(TEMPLATE)) == len(_rungs(vm))


def test_template_per_rung_scheduling_accelerators_and_ssds(vm):
    for pool, rung in _rungs(vm):
        t = vm.one(TEMPLATE, f"{names.rung_name(pool.name, rung.tier)}-template").inputs
        inst = load_catalog().instance("gcp", pool.instance_types[0])
        sched = t["scheduling"]
        assert sched["onHostMaintenance"] == "TERMINATE"
        expected = EXPECTED_MODEL.get(rung.tier) or ("FLEX_START" if pool.flex_start else "SPOT")
        assert sched["provisioningModel"] == expected, rung
        if expected == "STANDARD":
            assert sched["automaticRestart"] is True and "instanceTerminationAction" not in sched
        else:
            assert sched["instanceTerminationAction"] == "DELETE" and sched["automaticRestart"] is False
        assert t["guestAccelerators"] == [{"type": inst.accelerator, "count": inst.gpu_count}]
        assert t["machineType"] == inst.name
        ssds = [d for d in t["disks"] if d.get("type") == "SCRATCH"]
        assert len(ssds) == node_shape(vm.plan.basis, pool).local_ssd_count
        assert all(d["interface"] == "NVME" and d["diskSizeGb"] == 375 for d in ssds)
        assert [d["boot"] for d in t["disks"] if d.get("boot")] == [True]


def test_bundled_ssds_follow_the_catalog():
    # A3 High comes with 16x375 GB local SSD bundled (6000 GB: clouds.md); A2 Ultra with 8.
    assert load_catalog().instance("gcp", "a3-highgpu-8g").local_nvme_disks == 16


def test_spot_flex_and_reserved_specifics(vm):
    spot = vm.one(TEMPLATE, "l4-vm-spot-template").inputs
    assert spot["scheduling"]["preemptible"] is True
    assert spot["reservationAffinity"] == {"type": "NO_RESERVATION"}
    flex = vm.one(TEMPLATE, "h100-vm-spot-template").inputs["scheduling"]
    assert flex["maxRunDuration"]["seconds"] == 72 * 3600
    reserved = vm.one(TEMPLATE, "h100-vm-reserved-template").inputs["reservationAffinity"]
    assert reserved == {"type": "SPECIFIC_RESERVATION", "specificReservation": {
        "key": "compute.googleapis.com/reservation-name", "values": ["a3-vm"]}}


def test_templates_have_no_external_ip_and_a_dedicated_identity(vm):
    for t in vm.of_type(TEMPLATE):
        assert all("accessConfigs" not in nic for nic in t.inputs["networkInterfaces"])
        email = t.inputs["serviceAccount"]["email"]
        assert not email.endswith("-compute@developer.gserviceaccount.com")
        assert t.inputs["shieldedInstanceConfig"]["enableVtpm"] is True
        boot = next(d for d in t.inputs["disks"] if d.get("boot"))
        assert "deeplearning-platform-release" in boot["sourceImage"] and "/family/" not in boot["sourceImage"]


def test_startup_script_names_the_weights_and_the_secret_never_its_value(vm):
    t = vm.one(TEMPLATE, "l4-vm-on-demand-template").inputs
    script = t["metadataStartupScript"]
    model = next(m for m in vm.spec.models if m.name == "llama-8b")
    assert f"gs://gpuinfra-staging-weights-acme-llm-vm/llama-8b/{model.revision}/" in script
    assert "projects/acme-llm-vm/secrets/gpuinfra-staging-vllm-api-key-us-central1" in script
    version = vm.one("gcp:secretmanager/secretVersion:SecretVersion", "serving-us-central1-api-key-version")
    assert version.inputs["secretData"] == "[secret]"


def test_one_mig_per_rung_with_the_rung_bounds(vm):
    for pool, rung in _rungs(vm):
        name = names.rung_name(pool.name, rung.tier)
        mig = vm.one(MIG, name)
        health = mig.inputs["autoHealingPolicies"]
        assert "autoheal-health" in health["healthCheck"] and 600 <= health["initialDelaySec"] <= 3600
        if rung.autoscaled:
            policy = vm.one(AUTOSCALER, f"{name}-autoscaler").inputs["autoscalingPolicy"]
            assert (policy["minReplicas"], policy["maxReplicas"]) == (rung.min_nodes, rung.max_nodes)
            assert "targetSize" not in mig.inputs and mig.options["ignoreChanges"] == ["targetSize"]
        else:
            assert mig.inputs["targetSize"] == rung.min_nodes == rung.max_nodes
            assert not [a for a in vm.of_type(AUTOSCALER) if a.name == f"{name}-autoscaler"]


def test_reserved_mig_stays_in_the_reservation_zone(vm):
    assert vm.one(MIG, "h100-vm-reserved").inputs["distributionPolicyZones"] == ["us-central1-b"]
    # H100 is offered in a, b, c of us-central1; the mocked region also has f, which must be left out.
    assert vm.one(MIG, "h100-vm-spot").inputs["distributionPolicyZones"] == [
        "us-central1-a", "us-central1-b", "us-central1-c"]


def test_internal_lb_fronts_every_mig(vm):
    backends = vm.one("gcp:compute/regionBackendService:RegionBackendService", "serving-us-central1-backend").inputs
    assert backends["loadBalancingScheme"] == "INTERNAL"
    assert len(backends["backends"]) == len(vm.of_type(MIG))
    rule = vm.one("gcp:compute/forwardingRule:ForwardingRule", "serving-ilb-us-central1").inputs
    assert rule["loadBalancingScheme"] == "INTERNAL" and rule["ports"] == ["8000"]


def test_firewall_sources_never_the_internet(vm):
    rules = {r.name: r.inputs for r in vm.of_type(FIREWALL)}
    assert rules, "VM mode must create firewall rules"
    for inputs in rules.values():
        assert "0.0.0.0/0" not in inputs.get("sourceRanges", [])
        assert inputs["direction"] == "INGRESS" and inputs["targetTags"] == ["gpuinfra-serving"]
    serving = rules["serving-us-central1-fw-serving"]
    assert serving["allows"] == [{"protocol": "tcp", "ports": ["8000"]}]
    assert serving["sourceRanges"] == [*HEALTH_CHECK_RANGES, str(vm.spec.gcp.network.subnet_cidr)]
    metrics = [v for k, v in rules.items() if "metrics" in k]
    assert all(v["allows"][0]["ports"] == ["9400", "9100"] for v in metrics)
    assert {tuple(v.get("sourceTags", v.get("sourceRanges"))) for v in metrics} == {
        ("gpuinfra-monitoring",), ("10.99.0.0/24",)}


@pytest.mark.parametrize("pool", ["l4-vm", "h100-vm"])
def test_vm_identity_reads_only_its_models_prefix(vm, pool):
    grant = vm.one("gcp:storage/bucketIAMMember:BucketIAMMember", f"{pool}-vm-weights").inputs
    model = next(m for m in vm.spec.models if pool in m.pools)
    assert grant["role"] == "roles/storage.objectViewer"
    assert f"/objects/{model.name}/{model.revision}/" in grant["condition"]["expression"]
    others = [m.name for m in vm.spec.models if m.name != model.name]
    assert not any(f"/objects/{o}/" in grant["condition"]["expression"] for o in others)
    secret = vm.one("gcp:secretmanager/secretIamMember:SecretIamMember", f"{pool}-vm-api-key").inputs
    assert secret["role"] == "roles/secretmanager.secretAccessor"


def test_the_policy_pack_prices_and_admits_vm_mode():
    """Issue 18 item 1: the fleet rules find each MIG's template through versions[].instanceTemplate (it sits under
    the GpuInstanceTemplate component, one level below the MIG), so the rungs are priced and the pools found; the
    flex-start burst counts as the non-prod burst model. With a budget that covers the variant, nothing mandatory."""
    from components.preview.plan import plan, plan_document

    raw = variants.vm_mode()
    raw["gpuinfra:budget"] = {**raw["gpuinfra:budget"], "monthly_usd": 250000}
    doc = plan_document(plan(ROOT, "staging", raw_config=raw))
    mandatory = [v["message"] for v in doc["violations"] if v["level"] == "mandatory"]
    assert not mandatory, mandatory
