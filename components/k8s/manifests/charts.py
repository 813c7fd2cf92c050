"""Helm values of the cluster add-ons the serving layer installs (NVIDIA device plugin, KEDA)."""
from __future__ import annotations

from typing import Any

from components.plan.scheduling import GPU_TAINT, LABEL_GPU

DEVICE_PLUGIN_NAMESPACE = "nvidia-device-plugin"


def device_plugin_values() -> dict:
    """nvidia-device-plugin on GPU nodes only.

    The chart's default affinity wants NFD/GFD labels (``feature.node.kubernetes.io/pci-10de.present``),
    which EKS nodes do not carry without NFD; our GPU nodes carry ``gpuinfra.dev/gpu`` (node_labels), so
    the affinity selects that instead, and the GPU taint is tolerated. GFD/NFD stay off (not needed).
    """
    return {
        "nfd": {"enabled": False},
        "gfd": {"enabled": False},
        "priorityClassName": "system-node-critical",
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": LABEL_GPU, "operator": "Exists"}]}]}}},
        "tolerations": [
            {"key": GPU_TAINT["key"], "operator": "Exists", "effect": GPU_TAINT["effect"]},
            {"key": "CriticalAddonsOnly", "operator": "Exists"},
        ],
    }


def keda_values(gcp_service_account: Any = None) -> dict:
    """KEDA with its CRDs (installed by the chart, before any ScaledObject) on the system nodes.

    Args:
        gcp_service_account: Google service account the operator impersonates (GKE Workload Identity, for
            Managed Prometheus); the chart annotates the operator's ServiceAccount with it
            (``podIdentity.gcp``, kedacore/charts v2.20.2 keda/templates/manager/serviceaccount.yaml).
    """
    values: dict = {
        "crds": {"install": True},
        "resources": {
            "operator": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}},
            "metricServer": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}},
        },
    }
    if gcp_service_account is not None:
        values["podIdentity"] = {"gcp": {"enabled": True, "gcpIAMServiceAccount": gcp_service_account}}
    return values
