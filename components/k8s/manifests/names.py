"""Kubernetes object names, labels and ports of the serving layer (shared with the router)."""
from __future__ import annotations

import hashlib
import re

from components.plan.scheduling import LABEL_POOL

#: vLLM's OpenAI-compatible API and /metrics share one port (vLLM docs, "OpenAI-compatible server").
SERVING_PORT = 8000
PORT_NAME = "http"
LABEL_MODEL = "gpuinfra.dev/model"
LABEL_TRACK = "gpuinfra.dev/track"
#: Pod label only one Deployment's pods carry (value: ``workload_name``); the scrape objects copy it onto every
#: vLLM series so the autoscaler can tell the stable track from the canary and from other pools.
LABEL_INSTANCE = "app.kubernetes.io/instance"
#: Only on the LoadBalancer Service of ``exposure: internal|public``: it fronts the same pods as the ClusterIP
#: Service, and the ServiceMonitor skips it (else each pod is scraped twice and the queue sum doubles).
LABEL_EXPOSED = "gpuinfra.dev/load-balancer"
#: The series label it becomes. prometheus-operator's ``podTargetLabels`` names the target label after the pod
#: label with every character outside ``[a-zA-Z0-9_]`` replaced by ``_`` (pkg/prometheus/promcfg.go
#: ``sanitizeLabelName``, v0.93.0); GMP's ``targetLabels.fromPod`` is given the same name as ``to``.
INSTANCE_SERIES_LABEL = "app_kubernetes_io_instance"
PART_OF = "app.kubernetes.io/part-of"
#: Label the router engineer puts on the router/gateway namespace and pods (the only API clients).
ROUTER_PART_OF = "gpuinfra-router"
#: The Gateway the router exposes; HTTPRoutes of the serving layer attach to it (contract with the router).
GATEWAY = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gpuinfra", "namespace": "gpuinfra-router"}
#: Header the Gateway API Inference Extension's body-based router sets from the request's ``model``.
MODEL_HEADER = "X-Gateway-Model-Name"
MAX_NAME = 63


def k8s_name(*parts: str, limit: int = MAX_NAME) -> str:
    """A DNS-1035 name from parts joined by ``-``; too long names keep a stable 8-hex hash suffix.

    Args:
        *parts: Name parts (already DNS labels).
        limit: Maximum length (63 for Services and most objects).

    Returns:
        The name, at most ``limit`` characters.
    """
    name = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-')}-{digest}"


def workload_name(model: str, pool: str, canary: bool = False) -> str:
    """Deployment and Service name of a model on a pool: ``vllm-<model>-<pool>[-canary]``."""
    return k8s_name("vllm", model, pool, *(["canary"] if canary else []))


def service_name(model: str, pool: str) -> str:
    """The stable Service of a model on a pool (what the router targets; stays through canaries)."""
    return workload_name(model, pool)


def selector_labels(model: str, pool: str, canary: bool = False) -> dict[str, str]:
    """Labels a Deployment selects its pods by (immutable once created)."""
    return {
        "app.kubernetes.io/name": "vllm",
        LABEL_INSTANCE: workload_name(model, pool, canary),
        LABEL_MODEL: model,
        LABEL_POOL: pool,
        LABEL_TRACK: "canary" if canary else "stable",
    }


def common_labels(model: str, pool: str, canary: bool = False) -> dict[str, str]:
    """Every object of a VllmService carries these."""
    return {**selector_labels(model, pool, canary), PART_OF: "gpuinfra", "app.kubernetes.io/managed-by": "pulumi"}
