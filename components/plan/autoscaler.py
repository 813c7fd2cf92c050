"""cluster-autoscaler on EKS: priority-expander config, node-template tags and Helm values from the ladder."""
from __future__ import annotations

import re
from typing import Any

import yaml

from components.plan import names
from components.plan.ladder import LadderPlan

PRIORITY_CONFIGMAP = "cluster-autoscaler-priority-expander"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
#: Node groups matching no ladder rung (the system group) get the lowest priority instead of none.
CATCH_ALL_PRIORITY = 1
# EKS names a managed node group's Auto Scaling group ``eks-<node group name>-<node group uuid>``; Pulumi
# auto-names the node group ``<resource name>-<7 hex>`` (observed on EKS and pulumi-aws, 2026-11-23).
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TEMPLATE_PREFIX = "k8s.io/cluster-autoscaler/node-template"


def node_group_pattern(rung_resource_name: str) -> str:
    """Anchored regex matching the Auto Scaling group of the node group named after a rung.

    The UUID anchor keeps ``pool-on-demand`` from matching ``pool-on-demand-fallback``.
    """
    return rf"^eks-{re.escape(rung_resource_name)}(-[0-9a-f]{{7}})?-{_UUID}$"


def priorities(ladders: list[LadderPlan]) -> dict[int, list[str]]:
    """Priority-expander table: rung priority -> node-group regexes (higher priorities fill first).

    Args:
        ladders: The ladders of the pools whose node groups join one cluster.

    Returns:
        ``{priority: [regex, ...]}`` sorted by priority, highest first, plus a lowest catch-all.
    """
    table: dict[int, list[str]] = {}
    for ladder in ladders:
        for rung in ladder.rungs:
            table.setdefault(rung.priority, []).append(node_group_pattern(names.rung_name(ladder.pool, rung.tier)))
    table.setdefault(CATCH_ALL_PRIORITY, []).append(".*")
    return {p: sorted(table[p]) for p in sorted(table, reverse=True)}


def priority_configmap_data(ladders: list[LadderPlan]) -> dict[str, str]:
    """``data`` of the ``cluster-autoscaler-priority-expander`` ConfigMap (key ``priorities``)."""
    return {"priorities": yaml.safe_dump(priorities(ladders), sort_keys=False, default_flow_style=False)}


def node_template_tags(labels: dict[str, str], taint: dict[str, str], gpus: int) -> dict[str, str]:
    """Tags telling cluster-autoscaler what a node of an empty group looks like (scale from zero).

    Args:
        labels: Node labels of the group (``scheduling.node_labels``).
        taint: The GPU taint (``scheduling.GPU_TAINT``).
        gpus: GPUs per node (``nvidia.com/gpu`` allocatable).

    Returns:
        ``k8s.io/cluster-autoscaler/node-template/...`` tags (cluster-autoscaler AWS provider README).
    """
    tags = {f"{TEMPLATE_PREFIX}/label/{k}": v for k, v in sorted(labels.items())}
    tags[f"{TEMPLATE_PREFIX}/taint/{taint['key']}"] = f"{taint['value']}:{taint['effect']}"
    tags[f"{TEMPLATE_PREFIX}/resources/nvidia.com/gpu"] = str(gpus)
    return tags


def discovery_tags(cluster_name: str) -> dict[str, str]:
    """Auto-discovery tags (EKS adds them to managed node groups' ASGs too; explicit for clarity)."""
    return {"k8s.io/cluster-autoscaler/enabled": "true", f"k8s.io/cluster-autoscaler/{cluster_name}": "owned"}


def helm_values(cluster_name: str, region: str, image_tag: str) -> dict[str, Any]:
    """Values of the ``cluster-autoscaler`` chart (kubernetes.github.io/autoscaler).

    Args:
        cluster_name: EKS cluster name (auto-discovery by its ASG tags).
        region: AWS region of the cluster.
        image_tag: Pinned cluster-autoscaler image tag (matches the cluster's minor version).

    Returns:
        Helm values as a dict.
    """
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "image": {"tag": image_tag},
        "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
        "extraArgs": {
            "expander": "priority",
            "balance-similar-node-groups": True,
            # vLLM pods keep weights on node-local NVMe (emptyDir/hostPath); they must not pin nodes forever.
            "skip-nodes-with-local-storage": False,
            "skip-nodes-with-system-pods": False,
            # GPU nodes take minutes to boot and pull multi-GB images: do not give up on a group too early.
            "max-node-provision-time": "20m",
            "scale-down-unneeded-time": "15m",
        },
        "expanderPriorities": {},  # the ConfigMap is managed explicitly (rendered from the ladder)
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "priorityClassName": "system-cluster-critical",
    }
