"""nodeadm ``NodeConfig`` user data (MIME multipart) for EKS AL2023 GPU managed node groups."""
from __future__ import annotations

from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any, Literal

import yaml

LocalStorageStrategy = Literal["RAID0", "RAID10", "Mount"]
NODEADM_CONTENT_TYPE = "application/node.eks.aws"
NODEADM_API_VERSION = "node.eks.aws/v1alpha1"
#: Fixed boundary keeps the rendered user data (and the launch template) identical run to run.
BOUNDARY = "GPUINFRA-NODEADM"
#: nodeadm mounts the RAID0 array of instance-store disks here by default (awslabs amazon-eks-ami,
#: nodeadm API reference, LocalStorageOptions, checked 2026-11-23); the serving layer expects NVME_MOUNT.
NODEADM_DEFAULT_MOUNT = "/mnt/k8s-disks"


def node_config(strategy: LocalStorageStrategy = "RAID0") -> dict[str, Any]:
    """The partial ``NodeConfig`` a managed node group's launch template carries.

    Managed node groups on an EKS-optimized AMI (``ami_type`` set, no custom AMI) append their own
    ``NodeConfig`` with the cluster endpoint, CA and CIDR, and nodeadm merges every NodeConfig part
    (eksctl user guide "Node bootstrapping", AL2023 section; AWS EKS "Customize managed nodes with
    launch templates", checked 2026-11-23). So this part carries only what EKS does not set: local storage.

    Args:
        strategy: nodeadm ``localStorage.strategy``; ``RAID0`` stripes every instance-store NVMe disk.

    Returns:
        The NodeConfig document as a dict.
    """
    return {
        "apiVersion": NODEADM_API_VERSION,
        "kind": "NodeConfig",
        "spec": {"instance": {"localStorage": {"strategy": strategy}}},
    }


def node_config_user_data(strategy: LocalStorageStrategy = "RAID0") -> str:
    """MIME multipart user data holding one ``application/node.eks.aws`` NodeConfig part.

    Args:
        strategy: nodeadm local storage strategy (see :func:`node_config`).

    Returns:
        The user data as text (base64-encode it for ``aws.ec2.LaunchTemplate.user_data``).
    """
    message = MIMEMultipart("mixed", boundary=BOUNDARY)
    body = "---\n" + yaml.safe_dump(node_config(strategy), sort_keys=False)
    part = MIMEText(body, _charset="us-ascii")
    part.replace_header("Content-Type", f'{NODEADM_CONTENT_TYPE}; charset="us-ascii"')
    message.attach(part)
    return message.as_string()


def parse_node_configs(user_data: str) -> list[dict[str, Any]]:
    """The NodeConfig documents inside MIME user data (used by tests and the plan report).

    Args:
        user_data: Decoded (not base64) MIME multipart text.

    Returns:
        Every ``application/node.eks.aws`` part parsed as YAML.
    """
    from email import message_from_string  # noqa: PLC0415 (only parsing needs it)

    message = message_from_string(user_data)
    docs = []
    for part in message.walk():
        if part.get_content_type() == NODEADM_CONTENT_TYPE:
            docs.append(yaml.safe_load(part.get_payload(decode=True).decode()))
    return docs
