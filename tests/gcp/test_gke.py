"""GKE: cluster settings, GPU node pools per rung, Workload Identity, ignore_changes, Kubernetes provider."""
from __future__ import annotations

import pytest

from components.catalog import load_catalog
from components.plan import gcp_access, names
from components.plan.compute_class import compute_class_name
from components.plan.gcp_shapes import gcp_version, node_shape
from components.plan.scheduling import node_labels
from components.spec.errors import ConfigError
from tests.conftest import plan_of
from tests.gcp import variants
from tests.gcp.conftest import Recorded

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
ACCOUNT = "gcp:serviceaccount/account:Account"


@pytest.fixture(params=["staging", "prod"])
def stack(request):
    return request.getfixturevalue(request.param)


def _cluster_name(stack):
    return names.cluster_name(stack.spec.environment, "gcp", stack.spec.gcp.region)


def test_cluster_is_private_with_workload_identity(stack):
    c = stack.one(CLUSTER, _cluster_name(stack)).inputs
    assert c["privateClusterConfig"]["enablePrivateNodes"] is True
    assert c["privateClusterConfig"]["masterIpv4CidrBlock"] == str(stack.spec.gcp.network.master_cidr)
    assert c["workloadIdentityConfig"] == {"workloadPool": f"{stack.spec.gcp.project}.svc.id.goog"}
    assert c["releaseChannel"] == {"channel": stack.spec.gcp.gke.release_channel}
    assert c["removeDefaultNodePool"] is True and c["initialNodeCount"] == 1
    assert c["addonsConfig"]["gcsFuseCsiDriverConfig"] == {"enabled": True}
    assert c["minMasterVersion"] == gcp_version("gke_kubernetes")
    assert c["deletionProtection"] is (stack.spec.environment == "prod")
    assert "SYSTEM_COMPONENTS" in c["monitoringConfig"]["enableComponents"]


def test_system_pool_matches_the_cost_model(stack):
    pool = stack.one(NODE_POOL, "system-us-central1")
    gke = stack.spec.gcp.gke
    assert len(pool.inputs["nodeLocations"]) == 3
    assert pool.inputs["autoscaling"] == {"minNodeCount": gke.system_nodes, "maxNodeCount": 2 * gke.system_nodes}
    assert pool.inputs["nodeConfig"]["machineType"] == gke.system_machine_type


def test_node_pool_per_rung(stack):
    for pool in stack.spec.gcp.gpu_pools:
        inst = load_catalog().instance("gcp", pool.instance_types[0])
        shape = node_shape(stack.plan.basis, pool)
        for rung in stack.plan.ladders[pool.name].rungs:
            record = stack.one(NODE_POOL, names.rung_name(pool.name, rung.tier))
            np, cfg = record.inputs, record.inputs["nodeConfig"]
            assert cfg["guestAccelerators"] == [{"type": inst.accelerator, "count": inst.gpu_count,
                                                 "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"}}]
            assert cfg["spot"] is (rung.tier == "spot")
            assert cfg["ephemeralStorageLocalSsdConfig"] == {"localSsdCount": shape.local_ssd_count}
            # The GPU taint, then the pool's ComputeClass taint (tests/gcp/test_gke_compute_class.py).
            cc = compute_class_name(pool.name)
            assert cfg["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"},
                                     {"key": "cloud.google.com/compute-class", "value": cc, "effect": "NO_SCHEDULE"}]
            assert cfg["labels"] == {**node_labels(pool.name, rung.tier, inst.gpu.name), "cloud.google.com/compute-class": cc}
            assert cfg["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
            assert (np["autoscaling"]["totalMinNodeCount"], np["autoscaling"]["totalMaxNodeCount"]) == (
                rung.min_nodes, rung.max_nodes)
            assert np["autoscaling"]["locationPolicy"] == ("ANY" if rung.tier == "spot" else "BALANCED")
            if rung.reservation:
                assert cfg["reservationAffinity"] == {"consumeReservationType": "SPECIFIC_RESERVATION",
                                                      "key": "compute.googleapis.com/reservation-name",
                                                      "values": [rung.reservation]}
                zone = next(r.zone for r in stack.spec.gcp.reservations if r.name == rung.reservation)
                assert np["nodeLocations"] == [zone]
                assert {"type": "gcp:compute/reservation:Reservation", "name": rung.reservation} in \
                    record.options["dependsOn"]
            else:
                assert cfg["reservationAffinity"]["consumeReservationType"] in ("ANY_RESERVATION", "NO_RESERVATION")
                # A burst may use every zone; a floor only as many as divide it (see the floors test below).
                assert len(np["nodeLocations"]) >= (2 if rung.min_nodes == 0 else 1)


@pytest.mark.parametrize(("floor", "zones"), [(1, 3), (2, 3), (3, 3), (4, 3), (6, 4)])
def test_every_floor_starts_exactly_its_count(floor, zones):
    """GKE's initial_node_count is per zone of node_locations (terraform-provider-google,
    website/docs/r/container_node_pool.html.markdown): staging's on-demand floor of 1 over 3 zones used to start 3 L4
    nodes. Whatever the zones, each rung's first nodes are its floor, never more."""
    raw = variants.gcp_only("staging")
    pool = raw["gpuinfra:gcp"]["gpu_pools"][0]
    pool["zones"] = [f"us-central1-{s}" for s in "abcf"[:zones]]
    pool["capacity"] = {"on_demand": floor, "spot": 3}
    record = Recorded(raw, "staging").one(NODE_POOL, names.rung_name(pool["name"], "on-demand"))
    started = record.inputs["initialNodeCount"] * len(record.inputs["nodeLocations"])
    assert started == floor, record.inputs["nodeLocations"]
    assert record.inputs["autoscaling"]["totalMinNodeCount"] == floor
    assert len(record.inputs["nodeLocations"]) == max(k for k in range(1, zones + 1) if floor % k == 0)  # widest spread


def test_prod_h100_uses_the_bundled_ssds_and_the_reservation(prod):
    cfg = prod.one(NODE_POOL, "h100-gke-reserved").inputs["nodeConfig"]
    assert cfg["ephemeralStorageLocalSsdConfig"] == {"localSsdCount": 16}
    assert cfg["reservationAffinity"]["values"] == ["a3-usc1-a"]


def test_node_pools_ignore_only_the_autoscaled_counts(stack):
    # terraform-provider-google v7.45.0 google/services/container/node_config.go already suppresses the diffs
    # GKE causes itself: containerNodePoolLabelsSuppress (GKE Sandbox's sandbox.gke.io/ labels),
    # containerNodePoolResourceLabelsDiffSuppress ("goog-gke" resource labels), and GKE-added taints are read
    # into the computed effective_taints. Ignoring labels, taints or resource labels only hides real edits.
    pools = stack.of_type(NODE_POOL)
    assert pools
    for pool in pools:
        ignored = set(pool.options["ignoreChanges"])
        assert {"initialNodeCount", "nodeCount"} <= ignored, pool.name
        assert not {i for i in ignored if i.startswith("nodeConfig")}, (pool.name, ignored)


def test_workload_identity_binding(stack):
    bindings = stack.of_type("gcp:serviceaccount/iAMMember:IAMMember")
    gcp_pools = {p.name for p in stack.spec.gcp.gpu_pools}
    served = [m for m in stack.spec.models if gcp_pools & set(m.pools)]
    assert len(bindings) == len(served)
    for model in served:
        b = stack.one("gcp:serviceaccount/iAMMember:IAMMember", f"{_cluster_name(stack)}-weights-{model.name}")
        ns = stack.spec.serving.namespace
        assert b.inputs["member"] == f"serviceAccount:{stack.spec.gcp.project}.svc.id.goog[{ns}/vllm-{model.name}]"
        assert b.inputs["role"] == "roles/iam.workloadIdentityUser"
        reader = stack.one("gcp:serviceaccount/account:Account", f"weights-{model.name}-reader")
        assert b.inputs["serviceAccountId"] == reader.outputs["name"]
        assert {"type": CLUSTER, "name": _cluster_name(stack)} in b.options["dependsOn"]


def test_kubernetes_provider_is_built_from_the_cluster(stack):
    name = _cluster_name(stack)
    provider = stack.one("pulumi:providers:kubernetes", f"{name}-k8s")
    cluster = stack.one(CLUSTER, name)
    # The context is the cluster's own output name: the provider is built from (and waits for) the cluster.
    assert provider.inputs["context"] == cluster.outputs["name"]
    assert {"type": NODE_POOL, "name": "system-us-central1"} in provider.options["dependsOn"]
    assert provider.parent == {"type": "gpuinfra:gcp:GkeCluster", "name": name}


def test_every_gcp_resource_uses_an_explicit_provider(stack):
    for r in stack.run.resources:
        if r.custom and r.type.startswith("gcp:"):
            assert r.options.get("provider", "").startswith("gcp-"), r.name


def test_flex_start_burst_and_authorized_networks():
    from components.preview.run import run_program
    from tests.conftest import ROOT
    from tests.gcp import variants

    raw = variants.gcp_only("staging")
    raw["gpuinfra:gcp"]["gke"]["master_authorized_cidrs"] = ["203.0.113.0/24", "10.250.0.0/24"]  # + the runner
    raw["gpuinfra:gcp"]["gpu_pools"][0].update(flex_start=True, max_run_duration_hours=24)
    records = {r.name: r.inputs for r in run_program(ROOT, "staging", raw_config=raw).resources}
    burst = records["l4-gke-spot"]["nodeConfig"]
    assert (burst["spot"], burst["flexStart"], burst["maxRunDuration"]) == (False, True, "86400s")
    assert burst["reservationAffinity"] == {"consumeReservationType": "NO_RESERVATION"}
    floor = records["l4-gke-on-demand"]["nodeConfig"]
    assert "flexStart" not in floor and floor["spot"] is False
    cluster = records["gpuinfra-staging-us-central1-gke"]
    assert cluster["masterAuthorizedNetworksConfig"]["cidrBlocks"][0]["cidrBlock"] == "203.0.113.0/24"


def test_every_gke_node_pool_name_fits_gkes_limit_after_autonaming(stack_name):
    """GKE refuses NodePool names over 40 characters; pulumi-gcp appends "-" + 7 random characters to the logical
    name (provider/resources.go SetAutonaming(255, "-")), so logical names stay within 32."""
    from tests.conftest import plan_json

    pools = [r["name"] for r in plan_json(stack_name)["resources"] if r["type"] == NODE_POOL]
    assert all(len(n) + 8 <= 40 for n in pools), [n for n in pools if len(n) + 8 > 40]


def test_a_pool_name_too_long_for_gke_is_refused_with_its_key():
    raw = variants.gcp_only("staging")
    pool = raw["gpuinfra:gcp"]["gpu_pools"][0]
    old = pool["name"]
    pool["name"] = "l4-serving-pool-us-central"
    for model in raw["gpuinfra:models"]:
        model["pools"] = [pool["name"] if p == old else p for p in model["pools"]]
    with pytest.raises(ConfigError) as err:
        plan_of(raw)
    assert err.value.path == "gpuinfra:gcp.gpu_pools[0].name"
    assert "longer than GKE's 40" in err.value.message


def test_the_default_pool_runs_as_the_node_service_account(stack):
    # The cluster's node_config is the temporary default pool's (pulumi-gcp 10.2.0 container.Cluster:
    # "node_config: Parameters used in creating the default node pool"); unset, GKE uses the Compute Engine
    # default service account, which many projects disable.
    cluster = stack.one(CLUSTER, _cluster_name(stack))
    assert cluster.inputs["removeDefaultNodePool"] is True
    node_accounts = {a.outputs["email"] for a in stack.of_type(ACCOUNT) if a.name.endswith("-nodes")}
    assert len(node_accounts) == 1
    cfg = cluster.inputs.get("nodeConfig") or {}
    assert cfg.get("serviceAccount") in node_accounts
    assert cfg.get("oauthScopes") == [gcp_access.CLOUD_PLATFORM_SCOPE]
    assert not cfg.get("serviceAccount", "").endswith("-compute@developer.gserviceaccount.com")
