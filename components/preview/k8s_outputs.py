"""Computed outputs of mocked Kubernetes objects and Helm releases: metadata as the API server fills it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from components.preview.mock_context import MockContext, stable_uuid

Outputs = dict[str, Any]

# Kinds the API server keeps outside namespaces (kubectl api-resources --namespaced=false, v1.31).
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "StorageClass", "PriorityClass", "RuntimeClass",
    "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "APIService", "CSIDriver",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "IngressClass", "VolumeAttachment",
    "NodePool", "EC2NodeClass", "ClusterIssuer",
    # GKE's computeclasses.cloud.google.com is scope: Cluster (the CRD as GKE serves it, tests/upstream/crds/).
    "ComputeClass",
})


def kind_of(token: str) -> str:
    """Return the Kind of a ``kubernetes:<group>/<version>:<Kind>`` token."""
    return token.rsplit(":", 1)[-1]


def object_outputs(ctx: MockContext) -> Outputs:
    """Fill ``metadata`` (name auto-named when absent, namespace, uid) of any Kubernetes object.

    Args:
        ctx: The registration.

    Returns:
        The ``metadata`` output.
    """
    meta = dict(ctx.inputs.get("metadata") or {})
    name = meta.get("name") or f"{ctx.name}-{ctx.hex(8, 'autoname')}"
    meta |= {"name": name, "uid": stable_uuid(ctx.typ, ctx.name), "resourceVersion": "1", "generation": 1}
    if kind_of(ctx.typ) not in CLUSTER_SCOPED_KINDS:
        meta.setdefault("namespace", "default")
    return {"metadata": meta}


def _helm_release(ctx: MockContext) -> Outputs:
    name = ctx.inputs.get("name") or f"{ctx.name}-{ctx.hex(8, 'autoname')}"
    namespace = ctx.inputs.get("namespace") or "default"
    status = {
        "name": name,
        "namespace": namespace,
        "chart": ctx.inputs.get("chart"),
        "version": ctx.inputs.get("version"),
        "appVersion": ctx.inputs.get("version"),
        "revision": 1,
        "status": "deployed",
    }
    return {"name": name, "namespace": namespace, "status": status}


# Type token -> computed outputs, for tokens that are not plain objects. Add a type with one line here.
K8S_OUTPUTS: dict[str, Callable[[MockContext], Outputs]] = {
    "kubernetes:helm.sh/v3:Release": _helm_release,
}
