"""Helm values of the monitoring charts (kube-prometheus-stack, dcgm-exporter): pure data, no Pulumi."""
from __future__ import annotations


from components.plan.compute_class import LABEL as COMPUTE_CLASS_KEY
from components.plan.scheduling import GPU_TAINT, LABEL_GPU, LABEL_POOL, LABEL_TIER
from components.plan.scrape import NODE_RELABELINGS
from components.plan.monitoring import MonitoringPlan
from components.catalog.vocab import GCP, Cloud

NAMESPACE = "monitoring"
STACK_RELEASE = "kube-prometheus-stack"
DCGM_RELEASE = "dcgm-exporter"
#: Short fullname: Services become ``kps-prometheus``, ``kps-grafana`` (the chart truncates long names).
STACK_FULLNAME = "kps"
GRAFANA_SECRET = "grafana-admin"
#: The chart's own ServiceMonitors carry ``release: <release>``; Prometheus selects exactly that label set,
#: and every ServiceMonitor/PodMonitor/PrometheusRule we or the serving layer create must carry it.
SELECTOR_LABELS = {"release": STACK_RELEASE}
#: Default StorageClass per cloud (EKS: the gp3 class of the EBS CSI driver; GKE: pd-balanced premium-rwo).
STORAGE_CLASS = {"aws": "gp3", "gcp": "premium-rwo"}


def prometheus_url() -> str:
    """In-cluster URL of the self-managed Prometheus (KEDA's serverAddress)."""
    return f"http://{STACK_FULLNAME}-prometheus.{NAMESPACE}.svc:9090"


def _prometheus_spec(plan: MonitoringPlan, cloud: Cloud) -> dict:
    gib = plan.storage_gib
    selector = {"matchLabels": dict(SELECTOR_LABELS)}
    return {
        "retention": f"{plan.retention_days}d",
        # Size-based retention as well, so a full volume never stops ingestion (85 % of the volume).
        "retentionSize": f"{int(gib * 0.85)}GiB",
        "storageSpec": {"volumeClaimTemplate": {"spec": {
            "storageClassName": STORAGE_CLASS[cloud], "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{gib}Gi"}}}}},
        # Explicit selectors (not the chart's nil-means-release default): one label set, stated once.
        "serviceMonitorSelectorNilUsesHelmValues": False, "serviceMonitorSelector": selector,
        "serviceMonitorNamespaceSelector": {},
        "podMonitorSelectorNilUsesHelmValues": False, "podMonitorSelector": selector,
        "podMonitorNamespaceSelector": {},
        "ruleSelectorNilUsesHelmValues": False, "ruleSelector": selector, "ruleNamespaceSelector": {},
    }


def prometheus_stack_values(plan: MonitoringPlan, cloud: Cloud) -> dict:
    """Values of kube-prometheus-stack: retention/storage from config, Grafana from a Secret, sidecar dashboards.

    Args:
        plan: The monitoring plan (retention and volume size).
        cloud: Cloud of the cluster (StorageClass).

    Returns:
        Helm values; the Grafana password is referenced through ``admin.existingSecret`` only.
    """
    return {
        "fullnameOverride": STACK_FULLNAME,
        "prometheus": {"prometheusSpec": _prometheus_spec(plan, cloud)},
        "grafana": {
            "admin": {"existingSecret": GRAFANA_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            "sidecar": {"dashboards": {"enabled": True, "label": "grafana_dashboard", "labelValue": "1",
                                       "searchNamespace": "ALL"}},
        },
        # kube_node_labels exports no label unless allow-listed: the rules join GPU series on these.
        "kube-state-metrics": {"metricLabelsAllowlist": [f"nodes=[{LABEL_POOL},{LABEL_TIER},{LABEL_GPU}]"]},
    }


#: The chart's own entry of ``extraVolumeMounts``: the counters CSV its ``arguments`` (-f) read. A list value
#: replaces the chart default as a whole, so overriding the list must repeat it (NVIDIA/dcgm-exporter
#: deployment/values.yaml at tag 4.5.3-4.8.2, chart 4.8.2).
CHART_COUNTERS_MOUNT = {"name": "exporter-metrics-volume", "mountPath": "/etc/dcgm-exporter/default-counters.csv",
                        "subPath": "default-counters.csv"}


def _gke_driver_mounts() -> dict:
    """GKE installs the NVIDIA driver under /home/kubernetes/bin/nvidia and exposes /dev/nvidia* only to
    containers that request GPUs or run privileged (GKE docs, 'DCGM metrics' / 'Run GPUs in Standard node
    pools', 2025); the exporter requests none, so it runs privileged (which needs allowPrivilegeEscalation)."""
    return {
        "extraHostVolumes": [{"name": "nvidia-install-dir-host", "hostPath": "/home/kubernetes/bin/nvidia"}],
        "extraVolumeMounts": [dict(CHART_COUNTERS_MOUNT),
                              {"name": "nvidia-install-dir-host", "mountPath": "/usr/local/nvidia", "readOnly": True}],
        "extraEnv": [{"name": "LD_LIBRARY_PATH", "value": "/usr/local/nvidia/lib64"}],
        "securityContext": {"privileged": True, "allowPrivilegeEscalation": True},
    }


def dcgm_values(cloud: Cloud) -> dict:
    """Values of dcgm-exporter: on GPU nodes only (tolerates the GPU taint), ServiceMonitor Prometheus selects."""
    values = {
        "fullnameOverride": DCGM_RELEASE,
        "serviceMonitor": {"enabled": True, "interval": "15s", "honorLabels": False,
                           "additionalLabels": dict(SELECTOR_LABELS), "relabelings": list(NODE_RELABELINGS)},
        "tolerations": [{"key": GPU_TAINT["key"], "operator": "Exists", "effect": GPU_TAINT["effect"]}],
        # Every GPU node carries the gpuinfra.dev/gpu label (scheduling.node_labels); a nodeSelector cannot say
        # "label exists", so this is a required node affinity.
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": LABEL_GPU, "operator": "Exists"}]}]}}},
        # GPU -> pod attribution needs no value: the chart always sets DCGM_EXPORTER_KUBERNETES=true
        # (deployment/templates/daemonset.yaml, 4.5.3-4.8.2); the old `mapPodsMetrics` key does not exist.
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    }
    if cloud == GCP:
        values |= _gke_driver_mounts()
        # GKE GPU nodes also carry their pool's ComputeClass taint (compute_class.LABEL, one value per pool).
        values["tolerations"] = [*values["tolerations"], {"key": COMPUTE_CLASS_KEY, "operator": "Exists",
                                                          "effect": "NoSchedule"}]
    return values
