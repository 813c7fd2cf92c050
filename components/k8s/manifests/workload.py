"""The vLLM Deployment: container, probes, shutdown, scheduling and security (pure dict builders)."""
from __future__ import annotations

from components.k8s.manifests.names import PORT_NAME, SERVING_PORT, common_labels, selector_labels, workload_name
from components.k8s.manifests.weights import BUCKET_ENV, PULL_POLICY, RUN_AS, init_containers, model_args, weight_volumes
from components.plan.compute_class import LABEL as COMPUTE_CLASS_KEY
from components.plan.workloads import WorkloadPlan
from components.plan.scheduling import GPU_TAINT, LABEL_POOL, serving_service_account
from components.plan.storage import NVME_MOUNT
from components.catalog.vocab import AWS, GCP

ZONE_KEY = "topology.kubernetes.io/zone"
GKE_SPOT_KEY = "cloud.google.com/gke-spot"
VLLM_HOME = "/home/vllm"
#: Secret keys (the values come from Pulumi secrets; manifests only reference them).
API_KEY = "VLLM_API_KEY"
HF_TOKEN = "HF_TOKEN"


def secret_name(w: WorkloadPlan) -> str:
    """The Secret holding the API key (and HF token) of a model on a pool (shared by both tracks)."""
    return f"{workload_name(w.model, w.pool)}-keys"


def tolerations(w: WorkloadPlan) -> list[dict]:
    """The GPU taint every GPU node carries; GKE spot nodes' taint when the pool has a spot rung."""
    out = [{"key": GPU_TAINT["key"], "operator": "Exists", "effect": GPU_TAINT["effect"]}]
    if w.cloud == GCP and w.spot:
        out.append({"key": GKE_SPOT_KEY, "operator": "Exists", "effect": "NoSchedule"})
    if w.compute_class:
        # The class's node pools carry its taint (compute_class.LABEL); only pods of the class tolerate it.
        out.append({"key": COMPUTE_CLASS_KEY, "operator": "Equal", "value": w.compute_class, "effect": "NoSchedule"})
    return out


def node_selector(w: WorkloadPlan) -> dict[str, str]:
    """The pool's nodes; on GKE also the pool's ComputeClass, which is what makes GKE's autoscaler follow the
    ladder's priority order (a pod that selects no class scales whichever pool the autoscaler picks)."""
    selector = {LABEL_POOL: w.pool}
    if w.compute_class:
        selector[COMPUTE_CLASS_KEY] = w.compute_class
    return selector


def _env(w: WorkloadPlan, bucket: object) -> list[dict]:
    env = [{"name": API_KEY, "valueFrom": {"secretKeyRef": {"name": secret_name(w), "key": API_KEY}}},
           {"name": "HOME", "value": VLLM_HOME}, {"name": "HF_HOME", "value": f"{VLLM_HOME}/hf"},
           {"name": "VLLM_CACHE_ROOT", "value": f"{VLLM_HOME}/vllm"},
           {"name": "HF_HUB_OFFLINE", "value": "1" if w.load_format == "nvme-cache" else "0"},
           # No usage-stats call home: the egress policy would drop it anyway (vLLM docs "Usage Stats").
           {"name": "VLLM_NO_USAGE_STATS", "value": "1"}, {"name": "DO_NOT_TRACK", "value": "1"}]
    if w.hf_token:
        env.append({"name": HF_TOKEN, "valueFrom": {"secretKeyRef": {"name": secret_name(w), "key": HF_TOKEN}}})
    if w.load_format == "stream":
        env.append({"name": BUCKET_ENV, "value": bucket})
        if w.cloud == AWS:
            env.append({"name": "AWS_REGION", "value": w.region})
    return env


def _args(w: WorkloadPlan) -> list[str]:
    drain = w.grace.drain_seconds if w.grace.shutdown_timeout_flag else None
    return model_args(w).with_(port=SERVING_PORT, shutdown_timeout=drain).argv()


def _resources(w: WorkloadPlan) -> dict:
    amounts = {"cpu": str(w.cpu), "memory": f"{w.memory_gib}Gi", "nvidia.com/gpu": str(w.tp)}
    if w.load_format == "nvme-cache" and w.cloud == GCP:
        amounts["ephemeral-storage"] = f"{w.cache_gib + 10}Gi"  # the emptyDir cache + logs/scratch
    limits = {k: v for k, v in amounts.items() if k != "cpu"}  # no CPU limit: throttling hurts latency
    return {"requests": amounts, "limits": limits}


def _mounts(w: WorkloadPlan) -> list[dict]:
    mounts = [{"name": "home", "mountPath": VLLM_HOME}]
    if w.tp > 1:
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
    if w.load_format == "nvme-cache":
        mounts.append({"name": "weights-cache", "mountPath": NVME_MOUNT, "readOnly": True})
    return mounts


def vllm_container(w: WorkloadPlan, bucket: object) -> dict:
    """The vLLM server container."""
    return {
        "name": "vllm", "image": w.image, "imagePullPolicy": PULL_POLICY,
        "command": ["vllm", "serve"], "args": _args(w),
        "ports": [{"name": PORT_NAME, "containerPort": SERVING_PORT, "protocol": "TCP"}],
        "env": _env(w, bucket), "resources": _resources(w),
        "startupProbe": w.startup_probe,
        "readinessProbe": {"httpGet": {"path": "/health", "port": PORT_NAME}, "periodSeconds": 5,
                           "timeoutSeconds": 3, "failureThreshold": 2},
        "livenessProbe": {"httpGet": {"path": "/health", "port": PORT_NAME}, "periodSeconds": 15,
                          "timeoutSeconds": 5, "failureThreshold": 4},
        "lifecycle": {"preStop": {"sleep": {"seconds": w.grace.pre_stop_seconds}}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": False,
                            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "volumeMounts": _mounts(w),
    }


def _volumes(w: WorkloadPlan, script_config_map: str) -> list[dict]:
    volumes = [{"name": "home", "emptyDir": {"sizeLimit": "20Gi"}}]
    if w.tp > 1:
        volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{w.shm_gib}Gi"}})
    return volumes + weight_volumes(w, script_config_map)


def pod_spec(w: WorkloadPlan, bucket: object, script_config_map: str) -> dict:
    """The pod template's spec."""
    spec = {
        "serviceAccountName": serving_service_account(w.model),
        # EKS Pod Identity projects its own token volume and GKE Workload Identity uses the metadata
        # server: neither needs the Kubernetes API token, and vLLM never calls the API.
        "automountServiceAccountToken": False,
        "nodeSelector": node_selector(w),
        "tolerations": tolerations(w),
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "ScheduleAnyway",
                                       "labelSelector": {"matchLabels": selector_labels(w.model, w.pool, w.canary)}}],
        "terminationGracePeriodSeconds": w.grace.grace_seconds,
        "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "fsGroup": RUN_AS,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "initContainers": init_containers(w, bucket),
        "containers": [vllm_container(w, bucket)],
        "volumes": _volumes(w, script_config_map),
        "enableServiceLinks": False,
    }
    if not spec["initContainers"]:
        del spec["initContainers"]
    return spec


def deployment(w: WorkloadPlan, bucket: object, script_config_map: str) -> dict:
    """The Deployment (``replicas`` is the starting count; the autoscaler owns it afterwards)."""
    name = workload_name(w.model, w.pool, w.canary)
    labels = common_labels(w.model, w.pool, w.canary)
    return {
        "metadata": {"name": name, "namespace": w.namespace, "labels": labels,
                     "annotations": {"gpuinfra.dev/revision": w.revision, "gpuinfra.dev/load-format": w.load_format}},
        "spec": {
            "replicas": w.min_replicas if w.fixed_replicas else max(1, w.min_replicas),
            "revisionHistoryLimit": 3,
            "progressDeadlineSeconds": w.startup_probe["failureThreshold"] * w.startup_probe["periodSeconds"] + 600,
            "selector": {"matchLabels": selector_labels(w.model, w.pool, w.canary)},
            "strategy": w.strategy,
            "template": {"metadata": {"labels": labels, "annotations": {"gpuinfra.dev/revision": w.revision}},
                         "spec": pod_spec(w, bucket, script_config_map)},
        },
    }
