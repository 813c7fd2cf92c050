"""Enforced NetworkPolicies must still let Prometheus scrape: every ServiceMonitor's port on its pods is admitted.

EKS enforces the serving namespace's policies (vpc-cni ``enableNetworkPolicy``), GKE does with Dataplane V2, so
a scrape port the policies forget is a silent hole in monitoring. Kubelet probes need no rule: the VPC CNI node agent
always admits the node's own IP (aws/aws-network-policy-agent v1.3.1 pkg/fwruleprocessor/fw_rule_processor.go).
"""
from __future__ import annotations

import pytest

from tests.k8s.helpers import committed_run, kind

#: Labels prometheus-operator puts on every Prometheus server pod whatever the Prometheus object is called
#: (prometheus-operator v0.93.0, the operator of kube-prometheus-stack 88.5.3, pkg/prometheus/server/operator.go
#: makeSelectorLabels: managed-by prometheus-operator, app.kubernetes.io/name "prometheus"; the other labels carry
#: the object's name).
PROMETHEUS_POD_LABELS = {"app.kubernetes.io/managed-by": "prometheus-operator", "app.kubernetes.io/name": "prometheus"}


def _subset(selector: dict | None, labels: dict) -> bool:
    """Label-selector semantics (k8s.io/apimachinery LabelSelector: matchLabels AND every matchExpression; an absent
    or empty selector selects everything)."""
    wanted = (selector or {}).get("matchLabels", {})
    ops = {"In": lambda k, vs: labels.get(k) in vs, "NotIn": lambda k, vs: labels.get(k) not in vs,
           "Exists": lambda k, _: k in labels, "DoesNotExist": lambda k, _: k not in labels}
    exprs = (selector or {}).get("matchExpressions", [])
    return all(labels.get(k) == v for k, v in wanted.items()) and all(
        ops[e["operator"]](e["key"], e.get("values", [])) for e in exprs)


def _by_cluster(run, k: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in kind(run, k):
        out.setdefault(str(r.options.get("provider", "")), []).append(r)
    return out


def _admits(policies: list, pod_labels: dict, port: int, port_name: str, src_ns: str, src_labels: dict) -> bool:
    ns_labels = {"kubernetes.io/metadata.name": src_ns}
    for policy in policies:
        spec = policy.inputs["spec"]
        if "Ingress" not in spec["policyTypes"] or not _subset(spec["podSelector"], pod_labels):
            continue
        own_ns = policy.inputs["metadata"]["namespace"]
        for rule in spec.get("ingress", []):
            ports = rule.get("ports")
            if ports and not any(p.get("port") in (port, port_name) and p.get("protocol", "TCP") == "TCP"
                                 for p in ports):
                continue
            for peer in rule.get("from") or [{}]:
                if "ipBlock" in peer:
                    continue  # pod-to-pod scrapes are matched by selectors, not by address
                ns_ok = _subset(peer["namespaceSelector"], ns_labels) if "namespaceSelector" in peer \
                    else src_ns == own_ns
                if ns_ok and _subset(peer.get("podSelector"), src_labels):
                    return True
    return False


def _scrape_targets(run):
    """(cluster, namespace, pod labels, port number, port name, policies of the namespace) per scraped endpoint."""
    policies, services, deployments = (_by_cluster(run, k) for k in ("NetworkPolicy", "Service", "Deployment"))
    for cluster, monitors in _by_cluster(run, "ServiceMonitor").items():
        for monitor in monitors:
            spec = monitor.inputs["spec"]
            namespaces = spec.get("namespaceSelector", {}).get("matchNames") or [monitor.inputs["metadata"]["namespace"]]
            for svc in services.get(cluster, []):
                meta = svc.inputs["metadata"]
                if meta["namespace"] not in namespaces or not _subset(spec["selector"], meta.get("labels", {})):
                    continue
                for endpoint in spec["endpoints"]:
                    (svc_port,) = [p for p in svc.inputs["spec"]["ports"] if p.get("name") == endpoint["port"]]
                    for deploy in deployments.get(cluster, []):
                        template = deploy.inputs["spec"]["template"]
                        labels = template["metadata"]["labels"]
                        if deploy.inputs["metadata"]["namespace"] != meta["namespace"] or not all(
                                labels.get(k) == v for k, v in svc.inputs["spec"]["selector"].items()):
                            continue
                        target = svc_port.get("targetPort", svc_port["port"])
                        (port,) = [p for c in template["spec"]["containers"] for p in c.get("ports", [])
                                   if target in (p.get("name"), p["containerPort"])]
                        ns_policies = [p for p in policies.get(cluster, [])
                                       if p.inputs["metadata"]["namespace"] == meta["namespace"]]
                        yield cluster, meta["namespace"], labels, port["containerPort"], port.get("name", ""), ns_policies


def _prometheus_namespace(run, cluster: str) -> str:
    (release,) = [r for r in kind(run, "Release") if str(r.options.get("provider", "")) == cluster
                  and r.inputs.get("chart") == "kube-prometheus-stack"]
    return release.inputs["namespace"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_prometheus_is_admitted_to_every_port_its_service_monitors_scrape(stack):
    run = committed_run(stack)
    targets = list(_scrape_targets(run))
    isolated = [t for t in targets if any(
        "Ingress" in p.inputs["spec"]["policyTypes"] and _subset(p.inputs["spec"]["podSelector"], t[2]) for p in t[5])]
    assert isolated, "no scraped pod sits behind an ingress policy: nothing checked"
    for cluster, namespace, labels, port, name, ns_policies in isolated:
        prometheus_ns = _prometheus_namespace(run, cluster)
        assert _admits(ns_policies, labels, port, name, prometheus_ns, PROMETHEUS_POD_LABELS), (
            f"{cluster}: Prometheus in {prometheus_ns} cannot scrape {namespace} pods {labels} on {port}")


def test_the_admission_check_refuses_a_policy_without_the_scraper():
    policy = type("R", (), {"inputs": {"metadata": {"namespace": "llm"}, "spec": {
        "podSelector": {}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "router"}}}],
                     "ports": [{"protocol": "TCP", "port": 8000}]}]}}})()
    assert not _admits([policy], {"app": "vllm"}, 8000, "http", "monitoring", PROMETHEUS_POD_LABELS)
    assert _admits([policy], {"app": "vllm"}, 8000, "http", "router", PROMETHEUS_POD_LABELS)
