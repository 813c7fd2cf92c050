"""How traffic reaches vLLM: Services, exposure, PDB, scrape objects (pure dicts)."""
from __future__ import annotations

from components.k8s.manifests.names import (
    INSTANCE_SERIES_LABEL, LABEL_EXPOSED, LABEL_INSTANCE, LABEL_MODEL, PORT_NAME, SERVING_PORT, common_labels,
    selector_labels, service_name, workload_name,
)
from components.plan.workloads import WorkloadPlan
from components.plan.scheduling import LABEL_POOL
from components.plan.serving_layer import ExposurePlan
from components.catalog.vocab import GCP

SCRAPE_INTERVAL = "15s"
#: AWS Load Balancer Controller annotations (NLB, IP targets) - kubernetes-sigs/aws-load-balancer-controller
#: docs "Service annotations", checked 2026-11-23. The in-tree controller ignores ``external``.
AWS_NLB = {"service.beta.kubernetes.io/aws-load-balancer-type": "external",
           "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"}
AWS_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def service(w: WorkloadPlan) -> dict:
    """The ClusterIP Service of one track (the stable name never changes through canaries)."""
    return {
        "metadata": {"name": workload_name(w.model, w.pool, w.canary), "namespace": w.namespace,
                     "labels": common_labels(w.model, w.pool, w.canary)},
        "spec": {"type": "ClusterIP", "selector": selector_labels(w.model, w.pool, w.canary),
                 "ports": [{"name": PORT_NAME, "port": SERVING_PORT, "targetPort": PORT_NAME, "protocol": "TCP"}]},
    }


def exposed_service(w: WorkloadPlan, serving: ExposurePlan) -> dict | None:
    """A LoadBalancer Service beside the ClusterIP one for ``internal``/``public`` exposure (AWS, or GKE
    internal); None for ``cluster-ip`` and for GKE public, which goes through ``public_ingress``."""
    if serving.exposure == "cluster-ip" or (serving.exposure == "public" and w.cloud == GCP):
        return None
    base = service(w)
    port = {"name": PORT_NAME, "port": SERVING_PORT, "targetPort": PORT_NAME, "protocol": "TCP"}
    if w.cloud == GCP:
        annotations = {"networking.gke.io/load-balancer-type": "Internal"}
    else:
        scheme = "internal" if serving.exposure == "internal" else "internet-facing"
        annotations = {**AWS_NLB, "service.beta.kubernetes.io/aws-load-balancer-scheme": scheme}
    if serving.exposure == "public":  # AWS: TLS terminates on the NLB with the ACM certificate
        annotations |= {"service.beta.kubernetes.io/aws-load-balancer-ssl-cert": serving.tls_certificate,
                        "service.beta.kubernetes.io/aws-load-balancer-ssl-ports": "443",
                        "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy": AWS_TLS_POLICY}
        port = {**port, "name": "https", "port": 443}
    meta = {**base["metadata"], "name": f"{base['metadata']['name'][:59]}-lb", "annotations": annotations,
            "labels": {**base["metadata"]["labels"], LABEL_EXPOSED: "true"}}
    return {"metadata": meta, "spec": {**base["spec"], "type": "LoadBalancer", "ports": [port]}}


def public_ingress(w: WorkloadPlan, serving: ExposurePlan) -> dict | None:
    """GKE public endpoint: an external Application Load Balancer (Ingress) with the pre-created Google
    managed certificate ``tls_certificate``, HTTPS only."""
    if serving.exposure != "public" or w.cloud != GCP:
        return None
    name = service_name(w.model, w.pool)
    return {
        "metadata": {"name": name, "namespace": w.namespace, "labels": common_labels(w.model, w.pool),
                     "annotations": {"ingress.gcp.kubernetes.io/pre-shared-cert": serving.tls_certificate,
                                     "kubernetes.io/ingress.allow-http": "false"}},
        "spec": {"ingressClassName": "gce", "rules": [{"host": serving.public_hostname, "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": name, "port": {"number": SERVING_PORT}}}}]}}]},
    }


def disruption_budget(w: WorkloadPlan) -> dict:
    """At most one replica of a track down at a time for voluntary disruptions (drains, upgrades)."""
    return {"metadata": {"name": workload_name(w.model, w.pool, w.canary), "namespace": w.namespace,
                         "labels": common_labels(w.model, w.pool, w.canary)},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(w.model, w.pool, w.canary)}}}


def scrape_selector(w: WorkloadPlan) -> dict:
    """Both tracks of a model on a pool."""
    return {"matchLabels": {"app.kubernetes.io/name": "vllm", LABEL_MODEL: w.model, LABEL_POOL: w.pool}}


def service_monitor(w: WorkloadPlan, labels: dict[str, str]) -> dict:
    """prometheus-operator ServiceMonitor for vLLM's /metrics, labelled for Prometheus' selector.

    ``podTargetLabels`` copies the pod's ``LABEL_INSTANCE`` onto every series (as ``INSTANCE_SERIES_LABEL``):
    the autoscaler's query selects one Deployment's pods by it. Load-balancer Services (``LABEL_EXPOSED``) front
    the same pods as the ClusterIP ones and are not selected: each pod is scraped once.
    """
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": {"name": service_name(w.model, w.pool), "namespace": w.namespace,
                     "labels": {**common_labels(w.model, w.pool), **labels}},
        "spec": {"selector": {**scrape_selector(w),
                              "matchExpressions": [{"key": LABEL_EXPOSED, "operator": "DoesNotExist"}]},
                 "namespaceSelector": {"matchNames": [w.namespace]},
                 "podTargetLabels": [LABEL_INSTANCE],
                 "endpoints": [{"port": PORT_NAME, "path": "/metrics", "interval": SCRAPE_INTERVAL}]},
    }


def pod_monitoring(w: WorkloadPlan) -> dict:
    """Google Cloud Managed Service for Prometheus PodMonitoring (``monitoring.provider: gke-managed``).

    ``targetLabels.fromPod`` copies ``LABEL_INSTANCE`` onto every series as ``INSTANCE_SERIES_LABEL`` (``to``
    must be a valid label name; the default, ``from`` itself, is not one).
    """
    return {
        "apiVersion": "monitoring.googleapis.com/v1", "kind": "PodMonitoring",
        "metadata": {"name": service_name(w.model, w.pool), "namespace": w.namespace,
                     "labels": common_labels(w.model, w.pool)},
        "spec": {"selector": scrape_selector(w),
                 "targetLabels": {"fromPod": [{"from": LABEL_INSTANCE, "to": INSTANCE_SERIES_LABEL}]},
                 "endpoints": [{"port": PORT_NAME, "path": "/metrics", "interval": SCRAPE_INTERVAL}]},
    }
