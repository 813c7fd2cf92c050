"""GKE custom ComputeClass per pool: the ladder's priority order over its per-rung node pools, selected by the pods."""
from __future__ import annotations

import re

import pytest

from components.plan import names
from components.plan.autoscaler import priorities
from components.plan.compute_class import LABEL, compute_class_name, priority_rows
from components.plan.gcp_shapes import gcp_version, kubernetes_minor
from components.catalog.versions import versions
from tests.conftest import stack_plan
from tests.gcp import variants
from tests.gcp.conftest import Recorded

COMPUTE_CLASS = "kubernetes:cloud.google.com/v1:ComputeClass"
NODE_POOL = "gcp:container/nodePool:NodePool"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _full_ladder() -> dict:
    """Staging's L4 pool with every GKE rung: on-demand floor, spot burst, on-demand fallback."""
    raw = variants.gcp_only("staging")
    raw["gpuinfra:gcp"]["gpu_pools"][0]["capacity"] = {"on_demand": 1, "spot": 3, "fallback_to_on_demand": True}
    return raw


@pytest.fixture(scope="module")
def full() -> Recorded:
    return Recorded(_full_ladder(), "staging")


@pytest.fixture(params=["full", "prod"])
def stack(request):
    return request.getfixturevalue(request.param)


def test_each_pool_has_a_compute_class_in_ladder_order(stack):
    """Issue 18, "The ladder's priority on GKE": before, GKE's autoscaler had no order between the spot pool and its
    on-demand fallback (no ComputeClass existed). The class lists the created node pools, most preferred first,
    in the order of the EKS priority expander for the same ladder."""
    for pool in stack.spec.gcp.gpu_pools:
        cc = stack.one(COMPUTE_CLASS, f"{pool.name}-compute-class")
        ladder = stack.plan.ladders[pool.name]
        by_priority = sorted(ladder.rungs, key=lambda r: -r.priority)
        created = [stack.one(NODE_POOL, names.rung_name(pool.name, r.tier)).outputs["name"] for r in by_priority]
        assert cc.inputs["spec"]["priorities"] == [{"nodepools": [n]} for n in created]
        assert cc.inputs["metadata"]["name"] == compute_class_name(pool.name)
        assert cc.inputs["spec"]["nodePoolAutoCreation"] == {"enabled": False}
        assert cc.inputs["spec"]["whenUnsatisfiable"] == "DoNotScaleUp"
        assert cc.inputs["spec"]["activeMigration"] == {"optimizeRulePriority": True}


def test_spot_is_preferred_over_the_on_demand_fallback(full):
    pool = full.spec.gcp.gpu_pools[0].name
    order = [p["nodepools"][0] for p in full.one(COMPUTE_CLASS, f"{pool}-compute-class").inputs["spec"]["priorities"]]
    spot = full.one(NODE_POOL, names.rung_name(pool, "spot")).outputs["name"]
    fallback = full.one(NODE_POOL, names.rung_name(pool, "on-demand-fallback")).outputs["name"]
    assert order.index(spot) < order.index(fallback)


def test_node_pools_carry_the_class_label_and_taint(stack):
    """A manually created node pool serves a class only with label and taint cloud.google.com/compute-class=<name>
    (google/skills gke-compute-classes CRD reference: "Manual pools ... REQUIRE it as label + taint to bind")."""
    for pool in stack.spec.gcp.gpu_pools:
        name = compute_class_name(pool.name)
        for rung in stack.plan.ladders[pool.name].rungs:
            cfg = stack.one(NODE_POOL, names.rung_name(pool.name, rung.tier)).inputs["nodeConfig"]
            assert cfg["labels"][LABEL] == name
            assert {"key": LABEL, "value": name, "effect": "NO_SCHEDULE"} in cfg["taints"]


def test_serving_pods_select_and_tolerate_their_class(stack):
    deployments = [d for d in stack.of_type(DEPLOYMENT) if LABEL in d.inputs["spec"]["template"]["spec"]["nodeSelector"]]
    assert deployments
    for d in deployments:
        pod = d.inputs["spec"]["template"]["spec"]
        name = compute_class_name(pod["nodeSelector"]["gpuinfra.dev/pool"])
        assert pod["nodeSelector"][LABEL] == name
        assert {"key": LABEL, "operator": "Equal", "value": name, "effect": "NoSchedule"} in pod["tolerations"]


def test_self_managed_dcgm_exporter_tolerates_the_class_taint(full):
    release = next(r for r in full.of_type("kubernetes:helm.sh/v3:Release") if r.inputs.get("chart") == "dcgm-exporter")
    assert {"key": LABEL, "operator": "Exists", "effect": "NoSchedule"} in release.inputs["values"]["tolerations"]


def test_pinned_gke_version_serves_compute_classes():
    """Custom ComputeClasses need GKE 1.30.3-gke.1451000 in Standard clusters (GKE docs "About custom
    ComputeClasses"); every patch of a later minor qualifies."""
    floor = versions()["gcp"]["compute_class"]["min_gke"]
    assert kubernetes_minor(gcp_version("gke_kubernetes")) > kubernetes_minor(floor)


def test_no_compute_class_in_vm_mode(vm):
    assert not vm.of_type(COMPUTE_CLASS)
    assert vm.plan.gcp.compute_classes == {}


@pytest.mark.parametrize("stack_name", ["prod", "staging", "dev"])
def test_report_ranks_match_the_eks_priority_expander(stack_name):
    """The plan report's ``priorities`` rows put each rung's ComputeClass rank next to its cluster-autoscaler
    priority; the rank order is the expander's order (higher priority, lower rank) for every ladder."""
    plan = stack_plan(stack_name)
    rows = priority_rows(list(plan.ladders.values()))
    assert len(rows) == sum(len(lad.rungs) for lad in plan.ladders.values())
    for ladder in plan.ladders.values():
        mine = [r for r in rows if r["pool"] == ladder.pool]
        assert [r["compute_class_rank"] for r in mine] == list(range(1, len(mine) + 1))
        expander = priorities([ladder])
        # The Auto Scaling group EKS would create for each rung's node group, matched against the expander's table.
        asg = "eks-{}-0123abc-12345678-1234-1234-1234-123456789012"
        ranked = [next(p for p, regexes in expander.items() if any(re.fullmatch(x, asg.format(r["node_group"]))
                                                                    for x in regexes)) for r in mine]
        assert ranked == sorted(ranked, reverse=True), (ladder.pool, ranked)
