"""The VM-mode startup contract shared by AWS and GCP: NVMe RAID0, verified weights, vLLM and exporters."""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.plan.engine_args import EngineArgs
from components.plan.storage import NVME_MOUNT
from components.catalog.vocab import AWS, BUCKET_SCHEME, GCP, Cloud

_SCRIPTS = Path(__file__).resolve().parent / "data" / "vm"
#: Where the weights live on the VM, below the NVMe mount (mounted read-only into vLLM at /models).
MODELS_DIR = "models"
#: Name of the Auto Scaling termination hook the on-instance drain watcher completes.
DRAIN_HOOK = "drain-vllm"
#: Seconds vLLM gets to finish in-flight requests after SIGTERM (``docker stop --time``).
DRAIN_SECONDS = 120
#: Termination-hook heartbeat: the drain plus margin for docker stop and the two AWS API calls.
LIFECYCLE_HEARTBEAT_SECONDS = DRAIN_SECONDS + 180
#: Root-only env file holding VLLM_API_KEY (fetched from the secret store at boot).
API_KEY_ENV_FILE = "/etc/gpuinfra/vllm.env"
#: CloudWatch namespace of the per-instance GPUUtilization metric (AWS) the idle watchdog reads.
METRICS_NAMESPACE = "gpuinfra/GPU"
METRIC_NAME = "GPUUtilization"
#: The per-VM queue gauge (sum of vLLM's waiting-request gauge) published into the same namespace with one
#: dimension, so CloudWatch aggregates it per pool (the fleet group's target tracking reads it: plan/vm_scaling.py).
QUEUE_METRIC_NAME = "WaitingRequests"
QUEUE_DIMENSION = "Pool"
BOOTSTRAP_PATH = "/usr/local/sbin/gpuinfra-bootstrap"
#: Boot, driver init and the ~10 GB vLLM image pull before weights start to copy (estimate, 2026-11).
BOOT_SECONDS = 600
#: Seconds per GiB to copy and sha256-verify weights (~100 MiB/s end to end, conservative for one stream).
SECONDS_PER_WEIGHT_GIB = 10
#: Compute Engine refuses a MIG autohealing ``initialDelaySec`` outside [0, 3600] (REST reference of
#: instanceGroupManagers, autoHealingPolicies[].initialDelaySec; also pulumi-gcp's RegionInstanceGroupManager docs).
GCE_MAX_AUTOHEAL_DELAY_SECONDS = 3600
BOOTSTRAP_UNIT = "gpuinfra-bootstrap.service"


@dataclass(frozen=True)
class VmBootstrap:
    """Everything a GPU VM needs at boot to serve one model revision.

    Attributes:
        cloud: ``aws`` or ``gcp`` (selects disk discovery, copy tool, secret store, metric publishing).
        model: Served model name (``--served-model-name`` and the bucket prefix's first segment).
        weights_uri: ``s3://bucket/<model>/<revision>/`` or ``gs://...``; must end with ``/``.
        engine_args: The planned vLLM arguments (``components.plan.sizing``); ``--model`` is replaced by the
            local NVMe path.
        vllm_image / dcgm_exporter_image / node_exporter_image: Pinned images (``repo:tag``).
        api_key_secret: Secrets Manager ARN (aws) or Secret Manager resource name ``projects/p/secrets/s`` (gcp).
        region: Cloud region (AWS CLI calls).
        nvme_mount: Mount point of the striped local disks.
        port: Host port vLLM listens on.
        metrics_namespace: CloudWatch namespace of the GPUUtilization metric (aws).
        metrics_group: GCP: the pool's metrics group (``vm_autoscaling.metrics_group``), the label the Ops Agent
            adds to vLLM's series so each pool's autoscalers read only their own VMs.
        queue_pool: AWS: publish ``QUEUE_METRIC_NAME`` with ``Pool=<queue_pool>`` each minute (the fleet's
            scaling metric, ``plan/vm_scaling.py``); empty: publish none (a fixed-size pool).
        waiting_metric: vLLM's waiting-request gauge in the deployed release (``vllm_metrics.yaml``).
    """

    cloud: Cloud
    model: str
    weights_uri: str
    engine_args: EngineArgs
    vllm_image: str
    dcgm_exporter_image: str
    node_exporter_image: str
    api_key_secret: str
    region: str
    nvme_mount: str = NVME_MOUNT
    port: int = 8000
    metrics_namespace: str = METRICS_NAMESPACE
    metrics_group: str = ""
    queue_pool: str = ""
    waiting_metric: str = "vllm:num_requests_waiting"

    @property
    def revision(self) -> str:
        """The revision: the last segment of ``weights_uri``."""
        return self.weights_uri.rstrip("/").rsplit("/", 1)[-1]

    @property
    def container_model_path(self) -> str:
        """Path of the weights inside the vLLM container."""
        return f"/models/{self.model}/{self.revision}"


def health_check_grace_seconds(weights_gib: float) -> int:
    """Seconds a new VM gets before load-balancer health checks count: boot, image pull, weights, load.

    Args:
        weights_gib: Size of the model's weights.

    Returns:
        The grace period (too short and the group replaces instances still copying weights, forever).
    """
    return BOOT_SECONDS + int(weights_gib * SECONDS_PER_WEIGHT_GIB)


def vm_engine_args(b: VmBootstrap) -> list[str]:
    """The planned engine args with ``--model`` pointing at the local copy and ``--served-model-name`` set.

    Args:
        b: The bootstrap contract.

    Returns:
        vLLM arguments for ``docker run <image> ...``.
    """
    return b.engine_args.with_(model=b.container_model_path, served_model_names=(b.model,)).argv()


_CLOUDS = {"aws": "aws", "gcp": "gcp"}


def _check(b: VmBootstrap) -> None:
    if b.cloud not in _CLOUDS:
        raise ValueError(f"cloud {b.cloud!r} is not aws or gcp")
    if not isinstance(b.port, int) or not 1 <= b.port <= 65535:
        raise ValueError(f"port {b.port!r} is not a TCP port")
    texts = [b.model, b.weights_uri, b.vllm_image, b.dcgm_exporter_image, b.node_exporter_image, b.api_key_secret,
             b.region, b.nvme_mount, b.metrics_namespace, b.queue_pool, b.waiting_metric, *vm_engine_args(b)]
    if any("\x00" in t for t in texts):  # bash cannot hold NUL in a variable: it would cut the value short
        raise ValueError("a bootstrap value contains a NUL character")
    if b.cloud == GCP and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", b.metrics_group):
        raise ValueError(f"metrics_group {b.metrics_group!r} must be a lowercase label value on gcp")
    scheme = f"{BUCKET_SCHEME[b.cloud]}://"
    if not b.weights_uri.startswith(scheme) or not b.weights_uri.endswith("/"):
        raise ValueError(f"weights_uri {b.weights_uri!r} must start with {scheme} and end with '/'")
    for image in (b.vllm_image, b.dcgm_exporter_image, b.node_exporter_image):
        if ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest"):
            raise ValueError(f"image {image!r} is not pinned to a tag")


def _variables(b: VmBootstrap) -> str:
    q = shlex.quote
    values = {
        "MODEL": b.model, "REVISION": b.revision, "WEIGHTS_URI": b.weights_uri, "REGION": b.region,
        "API_KEY_SECRET": b.api_key_secret, "NVME_MOUNT": b.nvme_mount, "MODEL_ROOT": f"{b.nvme_mount}/{MODELS_DIR}",
        "PORT": str(b.port), "VLLM_IMAGE": b.vllm_image, "DCGM_EXPORTER_IMAGE": b.dcgm_exporter_image,
        "NODE_EXPORTER_IMAGE": b.node_exporter_image, "ENV_FILE": API_KEY_ENV_FILE,
        "METRICS_NAMESPACE": b.metrics_namespace, "METRIC_NAME": METRIC_NAME, "DRAIN_HOOK": DRAIN_HOOK, "DRAIN_SECONDS": str(DRAIN_SECONDS),
    }
    if b.cloud == GCP:
        values["METRICS_GROUP"] = b.metrics_group
    if b.cloud == AWS:
        values |= {"QUEUE_POOL": b.queue_pool, "QUEUE_METRIC_NAME": QUEUE_METRIC_NAME,
                   "QUEUE_DIMENSION": QUEUE_DIMENSION, "WAITING_METRIC": b.waiting_metric}
    lines = [f"{k}={q(v)}" for k, v in values.items()]
    lines.append("ENGINE_ARGS=(" + " ".join(q(a) for a in vm_engine_args(b)) + ")")
    return "\n".join(lines)


def vm_startup_script(b: VmBootstrap) -> str:
    """The bash startup script (GCP ``startup-script`` metadata; AWS wraps it in :func:`vm_cloud_init`).

    Idempotent, meant to run on every boot: local disks and their contents do not survive a stop.

    Args:
        b: The bootstrap contract.

    Returns:
        The script text. It holds the secret's name, never its value.

    Raises:
        ValueError: ``weights_uri`` does not match the cloud, or an image is not pinned.
    """
    _check(b)
    parts = [
        "#!/usr/bin/env bash",
        # No value is interpolated outside _variables: a comment cannot be quoted, and a newline in it
        # would start a command (the model and revision are in MODEL= and REVISION= below).
        f"# gpuinfra VM bootstrap ({_CLOUDS[b.cloud]}). Generated; do not edit.",
        "set -euo pipefail",
        _variables(b),
        (_SCRIPTS / f"{b.cloud}.sh").read_text().rstrip(),
        (_SCRIPTS / "common.sh").read_text().rstrip(),
    ]
    return "\n".join(parts) + "\n"


class _Literal(str):
    """A string YAML writes as a ``|`` block (readable scripts in the cloud-config)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|"))


def vm_cloud_init(b: VmBootstrap) -> str:
    """AWS user data: a ``#cloud-config`` installing the startup script as a per-boot systemd unit.

    cloud-init's runcmd runs once per instance, but instance-store disks are wiped by a stop/start, so the
    script runs from a systemd unit on every boot (retrying on failure, e.g. a transient S3 error).

    Args:
        b: The bootstrap contract (``cloud`` must be ``aws``).

    Returns:
        The cloud-config document (plain text; the launch template base64-encodes it).
    """
    if b.cloud != AWS:
        raise ValueError("vm_cloud_init renders AWS user data; GCP takes vm_startup_script as startup-script")
    unit = (_SCRIPTS / "bootstrap.service").read_text().replace("@BOOTSTRAP_PATH@", BOOTSTRAP_PATH)
    doc = {
        "write_files": [
            {"path": BOOTSTRAP_PATH, "owner": "root:root", "permissions": "0700",
             "content": _Literal(vm_startup_script(b))},
            {"path": f"/etc/systemd/system/{BOOTSTRAP_UNIT}", "owner": "root:root", "permissions": "0644",
             "content": _Literal(unit)},
        ],
        "runcmd": [["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", "--no-block", BOOTSTRAP_UNIT]],
    }
    return "#cloud-config\n" + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=200)
