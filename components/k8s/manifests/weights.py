"""Weight loading: the engine's ``--model`` location, the cache volume and the sync init containers."""
from __future__ import annotations

from components.catalog.versions import image
from components.plan.engine_args import EngineArgs
from components.plan.workloads import WorkloadPlan
from components.plan.names import model_prefix
from components.plan.storage import NVME_MOUNT
from components.catalog.vocab import AWS, BUCKET_SCHEME, Cloud

#: nodeadm's ``localStorage: RAID0`` (setup-local-disks) mounts the md array at ``/mnt/k8s-disks/0`` and
#: bind-mounts kubelet/containerd/pod logs onto it; ``/mnt/k8s-disks`` itself stays on the root volume
#: (awslabs/amazon-eks-ami templates/shared/runtime/bin/setup-local-disks, ``array_mount_point=
#: "${MNT_DIR}/0"``, checked 2026-11-23). Our cache is a dedicated directory on the array.
EKS_CACHE_HOST_PATH = f"{NVME_MOUNT}/0/gpuinfra-cache"
SCRIPT_DIR = "/opt/gpuinfra"
SCRIPT_NAME = "sync_weights.py"
TOOLS_DIR = "/tools"
#: Unprivileged uid/gid of every serving container (above 10000: no clash with host users).
RUN_AS = 10001
BUCKET_ENV = "WEIGHTS_BUCKET"
#: imagePullPolicy of every serving container: the kubelet re-resolves the pinned tag (a manifest HEAD;
#: cached layers are not pulled again), so a re-pushed tag or a revoked pull credential is noticed.
PULL_POLICY = "Always"
#: The gcloud image's Python: on PATH, else the SDK's bundled interpreter.
_GCLOUD_PYTHON = 'exec "$(command -v python3 || echo /usr/lib/google-cloud-sdk/platform/bundledpythonunix/bin/python3)" "$@"'


def scheme(cloud: Cloud) -> str:
    """Bucket URI scheme of a cloud."""
    return BUCKET_SCHEME[cloud]


def bucket_uri(w: WorkloadPlan) -> str:
    """``s3://$(WEIGHTS_BUCKET)/<model>/<revision>/``: Kubernetes expands ``$(VAR)`` from the env."""
    return f"{scheme(w.cloud)}://$({BUCKET_ENV})/{model_prefix(w.model, w.revision)}"


def local_path(w: WorkloadPlan) -> str:
    """Where the nvme-cache copy of the revision lives inside the containers."""
    return f"{NVME_MOUNT}/models/{w.model}/{w.revision}"


def model_args(w: WorkloadPlan) -> EngineArgs:
    """The planned engine args with ``model`` pointing at the local copy or the bucket (streamer)."""
    if w.load_format == "nvme-cache":
        return w.engine_args.with_(model=local_path(w))
    return w.engine_args.with_(model=bucket_uri(w), load_format="runai_streamer",
                               model_loader_extra_config='{"distributed":true}' if w.tp > 1 else None)


def cache_volume(w: WorkloadPlan) -> dict:
    """EKS: a hostPath on the RAID0 array, shared by every pod of the node (one download per node).
    GKE: an emptyDir, which lives on the node's local SSD when the pool uses ephemeral-storage local SSD
    (GKE's supported way to reach local SSD without privileged setup; one download per pod)."""
    if w.cloud == AWS:
        return {"name": "weights-cache", "hostPath": {"path": EKS_CACHE_HOST_PATH, "type": "DirectoryOrCreate"}}
    return {"name": "weights-cache", "emptyDir": {"sizeLimit": f"{w.cache_gib}Gi"}}


def _restricted(read_only_root: bool = True) -> dict:
    return {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": read_only_root, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


def _resources(cpu: str, memory: str) -> dict:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu, "memory": memory}}


def _cache_owner() -> dict:
    """hostPath directories are created root:root 0755 and fsGroup does not apply to them: hand the cache
    to the unprivileged uid. Root, but with every capability dropped except CHOWN."""
    return {
        "name": "cache-owner", "image": image("python_slim"), "imagePullPolicy": PULL_POLICY,
        "command": ["chown", f"{RUN_AS}:{RUN_AS}", NVME_MOUNT],
        "securityContext": {"runAsNonRoot": False, "runAsUser": 0, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"], "add": ["CHOWN"]},
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "resources": _resources("100m", "64Mi"),
        "volumeMounts": [{"name": "weights-cache", "mountPath": NVME_MOUNT}],
    }


def _sync_args(w: WorkloadPlan) -> list[str]:
    """The sync script's arguments: copy this revision, then prune the model's revisions the plan no longer serves."""
    keep = [arg for rev in w.cache_revisions for arg in ("--keep", rev)]
    return [f"{SCRIPT_DIR}/{SCRIPT_NAME}", "--source", bucket_uri(w), "--dest", local_path(w),
            "--copier", "s5cmd" if w.cloud == AWS else "gcloud", "--prune", *keep]


def _sync_container(w: WorkloadPlan, bucket: object) -> dict:
    env = [{"name": BUCKET_ENV, "value": bucket}, {"name": "HOME", "value": "/tmp"}]
    mounts = [{"name": "weights-cache", "mountPath": NVME_MOUNT}, {"name": "sync-script", "mountPath": SCRIPT_DIR,
              "readOnly": True}, {"name": "tmp", "mountPath": "/tmp"}]
    if w.cloud == AWS:
        env += [{"name": "AWS_REGION", "value": w.region}]
        mounts.append({"name": "tools", "mountPath": TOOLS_DIR, "readOnly": True})
        command = ["python3", *_sync_args(w), "--binary", f"{TOOLS_DIR}/s5cmd"]
        img = image("python_slim")
    else:
        env += [{"name": "CLOUDSDK_CONFIG", "value": "/tmp/gcloud"}]
        command = ["/bin/sh", "-c", _GCLOUD_PYTHON, "sync", *_sync_args(w)]
        img = image("google_cloud_cli")
    return {"name": "weights-sync", "image": img, "imagePullPolicy": PULL_POLICY, "command": command,
            "env": env, "securityContext": _restricted(), "resources": _resources("2", "2Gi"), "volumeMounts": mounts}


def init_containers(w: WorkloadPlan, bucket: object) -> list[dict]:
    """Init containers of an nvme-cache workload (none when streaming).

    Args:
        w: The workload.
        bucket: The weights bucket name (a str, or a Pulumi Output the builder never inspects).
    """
    if w.load_format != "nvme-cache":
        return []
    sync = _sync_container(w, bucket)
    if w.cloud != AWS:
        return [sync]
    tool = {"name": "s5cmd-binary", "image": image("s5cmd"), "imagePullPolicy": PULL_POLICY,
            "command": ["/bin/cp", "/s5cmd", f"{TOOLS_DIR}/s5cmd"], "securityContext": _restricted(),
            "resources": _resources("100m", "64Mi"), "volumeMounts": [{"name": "tools", "mountPath": TOOLS_DIR}]}
    return [_cache_owner(), tool, sync]


def weight_volumes(w: WorkloadPlan, script_config_map: str) -> list[dict]:
    """Volumes the weight loading needs (cache, script, scratch)."""
    if w.load_format != "nvme-cache":
        return []
    volumes = [cache_volume(w), {"name": "sync-script", "configMap": {"name": script_config_map, "defaultMode": 0o555}},
               {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}]
    if w.cloud == AWS:
        volumes.append({"name": "tools", "emptyDir": {"sizeLimit": "128Mi"}})
    return volumes
