"""monitoring.provider gke-managed: the cluster collects what the Kubernetes layer hands to managed collection."""
from __future__ import annotations

import pytest

from components.plan import names
from components.plan.gcp_shapes import gcp_version, kubernetes_minor
from tests.conftest import plan_of
from tests.gcp import variants
from tests.gcp.conftest import Recorded

CLUSTER = "gcp:container/cluster:Cluster"
#: monitoring_config.enable_components values the provider accepts (terraform-provider-google v7.45.0, the
#: engine of pulumi-gcp 10.2.0: google/services/container/resource_container_cluster.go, monitoring_config
#: enable_components description "Valid values include SYSTEM_COMPONENTS, APISERVER, SCHEDULER,
#: CONTROLLER_MANAGER, STORAGE, HPA, POD, DAEMONSET, DEPLOYMENT, STATEFULSET, KUBELET, CADVISOR, DCGM and JOBSET").
METRIC_COMPONENTS = {"SYSTEM_COMPONENTS", "APISERVER", "SCHEDULER", "CONTROLLER_MANAGER", "STORAGE", "HPA", "POD",
                     "DAEMONSET", "DEPLOYMENT", "STATEFULSET", "KUBELET", "CADVISOR", "DCGM", "JOBSET"}
#: Managed collection of DCGM metrics needs GKE 1.28.15-gke.2475000 or later (GKE docs,
#: docs.cloud.google.com/stackdriver/docs/managed-prometheus/exporters/nvidia-dcgm, read 2026-12-03): every patch
#: of the next minor qualifies.
DCGM_MIN_MINOR = (1, 29)


def _managed(**gke) -> dict:
    raw = variants.gcp_only("staging")
    raw["gpuinfra:monitoring"] = {**raw.get("gpuinfra:monitoring", {}), "provider": "gke-managed"}
    raw["gpuinfra:gcp"]["gke"] = {**raw["gpuinfra:gcp"]["gke"], **gke}
    return raw


@pytest.fixture(scope="module")
def managed() -> Recorded:
    return Recorded(_managed(), "staging")


def _monitoring_config(stack: Recorded) -> dict:
    name = names.cluster_name(stack.spec.environment, "gcp", stack.spec.gcp.region)
    return stack.one(CLUSTER, name).inputs["monitoringConfig"]


def test_gke_managed_turns_on_managed_collection_and_dcgm_together(managed):
    """The Kubernetes layer drops the self-managed Prometheus and DCGM exporter and renders ClusterRules for managed
    collection: without managed Prometheus and GKE's DCGM package on the cluster nothing is collected (issue 18
    item 5; before the fix both stayed off unless gcp.gke.enable_managed_* were also set)."""
    config = _monitoring_config(managed)
    assert config["managedPrometheus"] == {"enabled": True}
    assert "DCGM" in config["enableComponents"]
    assert set(config["enableComponents"]) <= METRIC_COMPONENTS
    assert managed.of_type("kubernetes:monitoring.googleapis.com/v1:ClusterRules")
    assert not [r for r in managed.of_type("kubernetes:helm.sh/v3:Release") if r.inputs.get("chart") == "dcgm-exporter"]


def test_self_managed_leaves_managed_collection_off(staging):
    """The self-managed stack scrapes with its own Prometheus and exporter: no managed collection billed twice."""
    config = _monitoring_config(staging)
    assert config["enableComponents"] == ["SYSTEM_COMPONENTS"]
    assert config["managedPrometheus"] == {"enabled": False}


@pytest.mark.parametrize(("gke", "components", "prometheus"), [
    ({"enable_managed_prometheus": True}, ("SYSTEM_COMPONENTS",), True),  # managed collection only
    ({"enable_managed_dcgm": True}, ("SYSTEM_COMPONENTS", "DCGM"), True),  # DCGM needs managed collection
])
def test_explicit_switches_with_the_self_managed_provider(gke, components, prometheus):
    raw = variants.gcp_only("staging")
    raw["gpuinfra:gcp"]["gke"] = {**raw["gpuinfra:gcp"]["gke"], **gke}
    plan = plan_of(raw).gcp.gke_monitoring
    assert (plan.enable_components, plan.managed_prometheus) == (components, prometheus)


def test_pinned_gke_version_supports_managed_dcgm():
    assert kubernetes_minor(gcp_version("gke_kubernetes")) >= DCGM_MIN_MINOR
