"""Each Kubernetes cluster's serving layer is one plan slice (issue 16 item 2: ``components.k8s`` renders it and no
longer reads ``serving``, ``monitoring`` or ``models[].autoscaling`` from the spec)."""
from __future__ import annotations

import copy

from tests.conftest import plan_of, raw_stack


def _layers(raw: dict) -> dict:
    return {c.name: (c.cloud, c.layer, c) for c in plan_of(raw).clusters}


def test_every_cluster_carries_its_layer_and_the_routed_stack_exposes_no_service():
    for cloud, layer, cluster in _layers(raw_stack("staging")).values():
        assert layer.namespace == "llm" and layer.keda
        # routing.enabled: the router is the one endpoint, nothing bypasses it
        assert layer.service_exposure is None and layer.exposure.exposure == "cluster-ip"
        assert set(layer.autoscalers) == {w.model for w in cluster.workloads}


def test_managed_prometheus_only_on_gke_and_agrees_with_kedas_google_roles():
    raw = copy.deepcopy(raw_stack("staging"))
    raw["gpuinfra:monitoring"]["provider"] = "gke-managed"
    layers = _layers(raw)
    assert {cloud for cloud, layer, _ in layers.values() if layer.managed_prometheus} == {"gcp"}
    # KEDA authenticates to Managed Prometheus exactly where it got a Google identity with the reader role.
    for _, layer, cluster in layers.values():
        assert layer.managed_prometheus == bool(cluster.keda_gcp_roles)


def test_unrouted_stack_exposes_each_service_and_keeps_the_peak_windows():
    raw = copy.deepcopy(raw_stack("staging"))
    raw["gpuinfra:serving"]["routing"] = {"enabled": False}
    for model in raw["gpuinfra:models"]:
        model.pop("canary", None)  # a canary on Kubernetes needs the router
    model = raw["gpuinfra:models"][0]
    model["autoscaling"] = {"peak_windows": [{"start": "0 8 * * 1-5", "end": "0 18 * * 1-5", "min_replicas": 1}]}
    for _, layer, _ in _layers(raw).values():
        assert layer.service_exposure == layer.exposure
        (window,) = layer.autoscalers[model["name"]].peak_windows  # staging's one GKE cluster serves it
        assert (window.start, window.timezone, window.min_replicas) == ("0 8 * * 1-5", "UTC", 1)
