"""GpuMonitoring as the real program registers it: pinned releases, values from the plan, selectors, ordering, secrets."""
from __future__ import annotations

import json

import pytest

from components.catalog.versions import chart
from tests.k8s.helpers import committed_run, run_fixture
from tests.monitoring.helpers import by_type, in_cluster, plan_of, release, stack_plan, variant

#: prod: two EKS clusters and one GKE cluster, self-managed monitoring; staging: one GKE cluster (AWS runs VMs).
EKS = ("gpuinfra-prod-us-east-1", "gpuinfra-prod-us-west-2")
GKE_PROD, GKE_STAGING = "gpuinfra-prod-us-central1-gke", "gpuinfra-staging-us-central1-gke"
GMP = variant("prod", monitoring={"provider": "gke-managed"})
#: Prometheus Operator custom resources Prometheus selects by label (ServiceMonitor, PodMonitor, PrometheusRule).
SELECTED = tuple(f"kubernetes:monitoring.coreos.com/v1:{k}" for k in ("ServiceMonitor", "PodMonitor", "PrometheusRule"))
KPS, DCGM = "kube-prometheus-stack", "dcgm-exporter"


@pytest.fixture(scope="module")
def eks():
    return in_cluster(committed_run("prod"), EKS[0])


@pytest.fixture(scope="module")
def gke_self():
    return in_cluster(committed_run("staging"), GKE_STAGING)


@pytest.fixture(scope="module")
def gmp_run():
    return run_fixture("prod", GMP)


def deps(record) -> set[str]:
    return {d["name"] for d in record.options.get("dependsOn", [])}


def prometheus_spec(records: list) -> dict:
    return release(records, KPS).inputs["values"]["prometheus"]["prometheusSpec"]


def scaled_objects(records: list) -> list:
    return by_type(records, "kubernetes:keda.sh/v1alpha1:ScaledObject")


def test_releases_are_pinned_from_the_versions_file():
    run = committed_run("prod")
    for cluster in (*EKS, GKE_PROD):
        records = in_cluster(run, cluster)
        for key in (KPS, DCGM):
            rec, pinned = release(records, key), chart(key)
            assert (rec.inputs["version"], rec.inputs["repositoryOpts"]["repo"]) == (pinned.version, pinned.repo)
            assert rec.inputs["namespace"] == "monitoring" and rec.options["provider"] == f"{cluster}-k8s"


def test_prometheus_retention_and_storage_follow_the_spec(eks, gke_self):
    for records, stack, storage_class in ((eks, "prod", "gp3"), (gke_self, "staging", "premium-rwo")):
        mon = stack_plan(stack).monitoring
        prom = prometheus_spec(records)
        assert prom["retention"] == f"{mon.retention_days}d"
        claim = prom["storageSpec"]["volumeClaimTemplate"]["spec"]
        assert claim["resources"]["requests"]["storage"] == f"{mon.storage_gib}Gi"
        assert claim["storageClassName"] == storage_class


def test_dcgm_service_monitor_carries_the_labels_prometheus_selects(eks):
    prom = prometheus_spec(eks)
    dcgm = release(eks, DCGM).inputs["values"]
    selector = prom["serviceMonitorSelector"]["matchLabels"]
    assert selector and dcgm["serviceMonitor"]["enabled"] is True
    assert dcgm["serviceMonitor"]["additionalLabels"] == selector
    assert prom["ruleSelector"]["matchLabels"] == prom["podMonitorSelector"]["matchLabels"] == selector
    # Every monitor and rule the serving layer and the router register on this cluster must be selected.
    selected = [r for r in eks if r.type in SELECTED]
    assert {r.type for r in selected} == set(SELECTED)
    for rec in selected:
        assert selector.items() <= rec.inputs["metadata"]["labels"].items(), rec.name
    # The rules join on `node`: the ServiceMonitor must add it.
    assert {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node",
            "action": "replace"} in dcgm["serviceMonitor"]["relabelings"]


def test_dcgm_runs_on_gpu_nodes_only(eks, gke_self):
    dcgm = release(eks, DCGM).inputs["values"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in dcgm["tolerations"]
    terms = dcgm["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "gpuinfra.dev/gpu", "operator": "Exists"}]}]
    assert "extraHostVolumes" not in dcgm
    assert release(gke_self, DCGM).inputs["values"]["extraHostVolumes"][0]["hostPath"] == \
        "/home/kubernetes/bin/nvidia"


def test_grafana_password_comes_from_a_secret_never_from_values(eks):
    values = release(eks, KPS).inputs["values"]
    assert values["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    assert "adminPassword" not in values["grafana"]
    (secret,) = [r for r in by_type(eks, "kubernetes:core/v1:Secret")
                 if r.inputs["metadata"]["namespace"] == "monitoring"]
    assert secret.inputs["metadata"]["name"] == "grafana-admin"
    assert secret.inputs["stringData"] == "[secret]"  # a Pulumi secret, redacted by the recorder
    for rec in by_type(committed_run("prod").resources, "kubernetes:helm.sh/v3:Release"):
        assert "[secret]" not in json.dumps(rec.inputs), rec.name


def test_crd_users_wait_for_the_operator_release(eks):
    operator = f"{EKS[0]}-monitoring-prometheus-stack"
    rules = by_type(eks, "kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    maps = [r for r in by_type(eks, "kubernetes:core/v1:ConfigMap") if "grafana_dashboard" in r.inputs["metadata"].get(
        "labels", {})]
    assert rules and maps
    for rec in [*rules, *maps, release(eks, DCGM)]:
        assert operator in deps(rec), rec.name
    # The operator release waits for the cluster to be ready: its add-ons and every GPU node group in its region
    # (the system node group comes in through the add-ons installed after it).
    region = EKS[0].removeprefix("gpuinfra-prod-")
    ready = {r.name for r in committed_run("prod").resources
             if (r.type == "aws:eks/nodeGroup:NodeGroup" and r.options.get("provider") == f"aws-{region}"
                 and r.name != f"{EKS[0]}-system")
             or (r.type == "aws:eks/addon:Addon" and r.name.startswith(f"{EKS[0]}-"))}
    assert ready and ready <= deps(release(eks, KPS))
    (rule,) = rules
    assert rule.inputs["spec"]["groups"] == json.loads(json.dumps(list(stack_plan("prod").monitoring.rule_groups)))


def test_dashboards_are_sidecar_config_maps(eks):
    labelled = [r for r in by_type(eks, "kubernetes:core/v1:ConfigMap")
                if r.inputs["metadata"].get("labels") == {"grafana_dashboard": "1"}]
    named = [r for r in by_type(eks, "kubernetes:core/v1:ConfigMap") if "-monitoring-dashboard-" in r.name]
    assert labelled == named
    assert len(labelled) == len(stack_plan("prod").monitoring.dashboards) == 3
    for rec in labelled:
        (body,) = rec.inputs["data"].values()
        assert json.loads(body)["panels"]
    values = release(eks, KPS).inputs["values"]
    assert values["grafana"]["sidecar"]["dashboards"]["label"] == "grafana_dashboard"


def test_gke_managed_uses_cluster_rules_and_no_helm(gmp_run):
    gke = in_cluster(gmp_run, GKE_PROD)
    charts = {r.inputs["chart"] for r in by_type(gke, "kubernetes:helm.sh/v3:Release")}
    assert not charts & {KPS, DCGM}
    assert not [r for r in gke if r.type in SELECTED]
    (rules,) = by_type(gke, "kubernetes:monitoring.googleapis.com/v1:ClusterRules")
    assert rules.inputs["spec"]["groups"] == json.loads(json.dumps(list(plan_of(GMP).monitoring.rule_groups)))
    # KEDA queries where monitoring says Prometheus is: the Managed Service for Prometheus API.
    addresses = {t["metadata"]["serverAddress"] for so in scaled_objects(gke) for t in so.inputs["spec"]["triggers"]
                 if t["type"] == "prometheus"}
    assert addresses and all(a.startswith("https://monitoring.googleapis.com/v1/projects/") for a in addresses)


def test_gke_managed_is_ignored_on_eks(gmp_run):
    for cluster in EKS:
        records = in_cluster(gmp_run, cluster)
        assert by_type(records, "kubernetes:monitoring.googleapis.com/v1:ClusterRules") == []
        assert {r.inputs["chart"] for r in by_type(records, "kubernetes:helm.sh/v3:Release")} >= {KPS, DCGM}
        addresses = {t["metadata"]["serverAddress"] for so in scaled_objects(records)
                     for t in so.inputs["spec"]["triggers"] if t["type"] == "prometheus"}
        assert addresses == {"http://kps-prometheus.monitoring.svc:9090"}
