"""NetworkPolicies of the serving namespace: default deny, then only what vLLM and its loader need."""
from __future__ import annotations

from components.k8s.manifests.names import PART_OF, ROUTER_PART_OF, SERVING_PORT
from components.catalog.vocab import GCP, Cloud

VLLM_PODS = {"matchLabels": {"app.kubernetes.io/name": "vllm"}}
#: Private address ranges (RFC 1918): where an internal load balancer's traffic comes from.
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
#: Google Front End / health-check ranges that reach GKE load-balanced pods (GCP docs "Health checks:
#: probe IP ranges", checked 2026-11-23).
GCP_HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
#: Link-local credential endpoints: EKS Pod Identity agent (169.254.170.23:80) and the GKE metadata server
#: (169.254.169.254:80, plus 988 under Dataplane V2) - AWS "EKS Pod Identity agent" and GKE "Workload
#: Identity: network policy" docs, checked 2026-11-23.
CREDENTIAL_ENDPOINTS = {"aws": [("169.254.170.23/32", 80)], "gcp": [("169.254.169.254/32", 80), ("169.254.169.254/32", 988)]}
#: Prometheus pods: kube-prometheus-stack's Prometheus, or GMP's collectors (namespace gmp-system).
PROMETHEUS_PODS = {"self-managed": {"app.kubernetes.io/name": "prometheus"}, "gke-managed": {"app.kubernetes.io/name": "collector"}}
GMP_NAMESPACE = "gmp-system"


def _policy(name: str, namespace: str, pods: dict, ingress: list | None = None, egress: list | None = None) -> dict:
    types = [t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules is not None]
    spec: dict = {"podSelector": pods, "policyTypes": types}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"metadata": {"name": name, "namespace": namespace, "labels": {PART_OF: "gpuinfra"}}, "spec": spec}


def _tcp(port: int) -> dict:
    return {"protocol": "TCP", "port": port}


def default_deny(namespace: str) -> dict:
    """Deny all ingress and egress of every pod in the namespace (the other policies add exceptions)."""
    return _policy("default-deny", namespace, {}, ingress=[], egress=[])


def allow_dns(namespace: str) -> dict:
    """Egress to the cluster DNS (kube-dns/CoreDNS in kube-system, both clouds label it k8s-app=kube-dns)."""
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    return _policy("allow-dns", namespace, {}, egress=[{"to": [peer], "ports": [
        {"protocol": "UDP", "port": 53}, _tcp(53)]}])


def vllm_ingress(namespace: str, monitoring_namespace: str | None, provider: str, exposure: str, cloud: Cloud) -> dict:
    """Ingress to vLLM's port only from the router/gateway pods, Prometheus, and the load balancer."""
    router = {"namespaceSelector": {"matchLabels": {PART_OF: ROUTER_PART_OF}},
              "podSelector": {"matchLabels": {PART_OF: ROUTER_PART_OF}}}
    rules = [{"from": [router], "ports": [_tcp(SERVING_PORT)]}]
    if monitoring_namespace is not None:
        scraper_ns = GMP_NAMESPACE if provider == "gke-managed" else monitoring_namespace
        prometheus = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": scraper_ns}},
                      "podSelector": {"matchLabels": PROMETHEUS_PODS[provider]}}
        rules.append({"from": [prometheus], "ports": [_tcp(SERVING_PORT)]})
    if exposure != "cluster-ip":
        ranges = ["0.0.0.0/0"] if exposure == "public" else list(PRIVATE_RANGES)
        if cloud == GCP and exposure != "public":
            ranges += list(GCP_HEALTH_CHECK_RANGES)
        rules.append({"from": [{"ipBlock": {"cidr": c}} for c in ranges], "ports": [_tcp(SERVING_PORT)]})
    return _policy("vllm-ingress", namespace, VLLM_PODS, ingress=rules)


def vllm_egress(namespace: str, cloud: Cloud) -> dict:
    """Egress of vLLM pods and their loaders: the bucket over HTTPS, the credential endpoint.

    The bucket endpoint (S3 regional endpoint behind the VPC gateway endpoint, or storage.googleapis.com)
    has no fixed CIDR we can know offline, so HTTPS goes to any address except the link-local range.
    """
    rules = [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}], "ports": [_tcp(443)]}]
    rules += [{"to": [{"ipBlock": {"cidr": cidr}}], "ports": [_tcp(port)]} for cidr, port in CREDENTIAL_ENDPOINTS[cloud]]
    return _policy("vllm-egress", namespace, VLLM_PODS, egress=rules)


def network_policies(namespace: str, monitoring_namespace: str | None, provider: str, exposure: str, cloud: Cloud) -> list[dict]:
    """Every NetworkPolicy of the serving namespace."""
    return [default_deny(namespace), allow_dns(namespace),
            vllm_ingress(namespace, monitoring_namespace, provider, exposure, cloud), vllm_egress(namespace, cloud)]
