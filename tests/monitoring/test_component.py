"""GpuMonitoring under Pulumi mocks: pinned releases, values from the spec, selector labels, ordering, secrets."""
from __future__ import annotations

import json

import pytest

from components.catalog.versions import chart
from tests.conftest import raw_stack
from tests.monitoring.helpers import by_type, plan_of, release, run_fixture, stack_plan, variant


@pytest.fixture(scope="module")
def eks():
    return run_fixture(raw_stack("prod"), "aws")


@pytest.fixture(scope="module")
def gke_self():
    return run_fixture(raw_stack("staging"), "gcp")


@pytest.fixture(scope="module")
def gke_managed():
    return run_fixture(variant("staging", monitoring={"provider": "gke-managed"}), "gcp")


def deps(record) -> set[str]:
    return {d["name"] for d in record.options.get("dependsOn", [])}


def test_releases_are_pinned_from_the_versions_file(eks):
    for key in ("kube-prometheus-stack", "dcgm-exporter"):
        rec, pinned = release(eks, key), chart(key)
        assert (rec.inputs["version"], rec.inputs["repositoryOpts"]["repo"]) == (pinned.version, pinned.repo)
        assert rec.inputs["namespace"] == "monitoring" and rec.options["provider"] == "fixture-k8s"


def test_prometheus_retention_and_storage_follow_the_spec(eks, gke_self):
    for run, stack, storage_class in ((eks, "prod", "gp3"), (gke_self, "staging", "premium-rwo")):
        mon = stack_plan(stack).monitoring
        prom = release(run, "kube-prometheus-stack").inputs["values"]["prometheus"]["prometheusSpec"]
        assert prom["retention"] == f"{mon.retention_days}d"
        claim = prom["storageSpec"]["volumeClaimTemplate"]["spec"]
        assert claim["resources"]["requests"]["storage"] == f"{mon.storage_gib}Gi"
        assert claim["storageClassName"] == storage_class


def test_dcgm_service_monitor_carries_the_labels_prometheus_selects(eks):
    prom = release(eks, "kube-prometheus-stack").inputs["values"]["prometheus"]["prometheusSpec"]
    dcgm = release(eks, "dcgm-exporter").inputs["values"]
    selector = prom["serviceMonitorSelector"]["matchLabels"]
    assert dcgm["serviceMonitor"]["enabled"] is True
    assert dcgm["serviceMonitor"]["additionalLabels"] == selector == eks.outputs["service_monitor_labels"]
    assert prom["ruleSelector"]["matchLabels"] == selector
    # The rules join on `node`: the ServiceMonitor must add it.
    assert {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node",
            "action": "replace"} in dcgm["serviceMonitor"]["relabelings"]


def test_dcgm_runs_on_gpu_nodes_only(eks, gke_self):
    dcgm = release(eks, "dcgm-exporter").inputs["values"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in dcgm["tolerations"]
    terms = dcgm["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "gpuinfra.dev/gpu", "operator": "Exists"}]}]
    assert "extraHostVolumes" not in dcgm
    assert release(gke_self, "dcgm-exporter").inputs["values"]["extraHostVolumes"][0]["hostPath"] == \
        "/home/kubernetes/bin/nvidia"


def test_grafana_password_comes_from_a_secret_never_from_values(eks):
    values = release(eks, "kube-prometheus-stack").inputs["values"]
    assert values["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    assert "adminPassword" not in values["grafana"]
    secret = by_type(eks, "kubernetes:core/v1:Secret")[0]
    assert secret.inputs["metadata"]["name"] == "grafana-admin"
    assert secret.inputs["stringData"] == "[secret]"  # a Pulumi secret, redacted by the recorder
    for rec in by_type(eks, "kubernetes:helm.sh/v3:Release"):
        assert "[secret]" not in json.dumps(rec.inputs)


def test_crd_users_wait_for_the_operator_release(eks):
    stack = "fixture-cluster-monitoring-prometheus-stack"
    rules = by_type(eks, "kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    maps = by_type(eks, "kubernetes:core/v1:ConfigMap")
    for rec in [*rules, *maps, release(eks, "dcgm-exporter")]:
        assert stack in deps(rec), rec.name
    assert "fixture-ready" in deps(release(eks, "kube-prometheus-stack"))
    assert rules[0].inputs["metadata"]["labels"] == eks.outputs["service_monitor_labels"]
    assert rules[0].inputs["spec"]["groups"] == json.loads(json.dumps(list(stack_plan("prod").monitoring.rule_groups)))


def test_dashboards_are_sidecar_config_maps(eks):
    maps = by_type(eks, "kubernetes:core/v1:ConfigMap")
    assert len(maps) == len(stack_plan("prod").monitoring.dashboards) == 3
    for rec in maps:
        assert rec.inputs["metadata"]["labels"] == {"grafana_dashboard": "1"}
        (body,) = rec.inputs["data"].values()
        assert json.loads(body)["panels"]
    values = release(eks, "kube-prometheus-stack").inputs["values"]
    assert values["grafana"]["sidecar"]["dashboards"]["label"] == "grafana_dashboard"


def test_gke_managed_uses_cluster_rules_and_no_helm(gke_managed):
    assert gke_managed.outputs["managed"] is True
    assert by_type(gke_managed, "kubernetes:helm.sh/v3:Release") == []
    (rules,) = by_type(gke_managed, "kubernetes:monitoring.googleapis.com/v1:ClusterRules")
    stack = plan_of(variant("staging", monitoring={"provider": "gke-managed"}))
    assert rules.inputs["spec"]["groups"] == json.loads(json.dumps(list(stack.monitoring.rule_groups)))
    assert gke_managed.outputs["prometheus_url"].startswith("https://monitoring.googleapis.com/v1/projects/")


def test_gke_managed_is_ignored_on_eks():
    run = run_fixture(variant("prod", monitoring={"provider": "gke-managed"}), "aws")
    assert run.outputs["managed"] is False
    assert run.outputs["prometheus_url"] == "http://kps-prometheus.monitoring.svc:9090"
    assert len(by_type(run, "kubernetes:helm.sh/v3:Release")) == 2
