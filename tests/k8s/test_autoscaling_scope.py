"""Each ScaledObject scales on its own Deployment's queue only, through labels the scrape objects really attach.

Series labels are derived the way the upstream scrapers derive them, not from our constants:
- prometheus-operator ServiceMonitor (pkg/prometheus/promcfg.go ``generateServiceMonitorConfig``, v0.93.0,
  f8fafd47): every target gets ``namespace``, ``service``, ``pod``, ``container``, ``job``; each
  ``podTargetLabels`` entry ``l`` becomes ``sanitizeLabelName(l)`` (``[^a-zA-Z0-9_]`` -> ``_``) = the pod's label.
- GMP PodMonitoring (pkg/operator/apis/monitoring/v1/pod_config.go ``labelMappingRelabelConfigs``, v0.17.2,
  7920a2a2): each ``targetLabels.fromPod`` entry becomes target label ``to`` (default ``from``) = the pod's label.
- vLLM labels its engine gauges with ``model_name`` = the first ``--served-model-name`` (docs.vllm.ai
  /en/v0.32.0/usage/metrics/, "Production Metrics"); the queue gauge is the catalog's ``requests_waiting``.
"""
from __future__ import annotations

import re

import pytest

from components.catalog.metrics import vllm_metrics
from components.catalog.versions import vllm_version
from tests.k8s.helpers import container, kind, run_fixture, variant

SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"\s*,?')


def _sanitize(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def _matches(selector: dict, labels: dict) -> bool:
    """Kubernetes LabelSelector semantics (matchLabels AND every matchExpression)."""
    ops = {"In": lambda k, vs: labels.get(k) in vs, "NotIn": lambda k, vs: labels.get(k) not in vs,
           "Exists": lambda k, _: k in labels, "DoesNotExist": lambda k, _: k not in labels}
    return (all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
            and all(ops[e["operator"]](e["key"], e.get("values", [])) for e in selector.get("matchExpressions", [])))


def _query_selector(query: str) -> tuple[str, dict[str, str]]:
    (found,) = SELECTOR.findall(query)
    metric, body = found
    matchers = MATCHER.findall(body)
    assert "".join(m[0] for m in MATCHER.finditer(body)) == body, f"unparsed matchers in {body!r}"
    assert all(op == "=" for _, op, _ in matchers), f"only equality matchers are checked here: {body}"
    return metric, {k: v for k, _, v in matchers}


def _served_name(deployment) -> str:
    args = container(deployment)["args"]
    return args[args.index("--served-model-name") + 1]


def _cluster(record) -> str:
    """The cluster a record is applied to (its Kubernetes provider): each cluster has its own Prometheus."""
    return record.options["provider"].split("::")[0]


def _series(run, metric: str, cluster: str) -> dict[str, list[dict]]:
    """Deployment name -> label sets of its pods' queue series, as the cluster's scrape objects would label them."""
    def of(k: str) -> list:
        return [r for r in kind(run, k) if _cluster(r) == cluster]

    deployments = of("Deployment")
    out: dict[str, list[dict]] = {d.inputs["metadata"]["name"]: [] for d in deployments}
    for d in deployments:
        ns, pod_labels = d.inputs["metadata"]["namespace"], d.inputs["spec"]["template"]["metadata"]["labels"]
        base = {"__name__": metric, "model_name": _served_name(d), "namespace": ns, "pod": f"{d.inputs['metadata']['name']}-0"}
        for sm in of("ServiceMonitor"):
            if sm.inputs["metadata"]["namespace"] != ns:
                continue
            for svc in of("Service"):
                meta, spec = svc.inputs["metadata"], svc.inputs["spec"]
                if meta["namespace"] != ns or not _matches(sm.inputs["spec"]["selector"], meta["labels"]):
                    continue
                if not _matches({"matchLabels": spec["selector"]}, pod_labels):
                    continue
                extra = {_sanitize(l): pod_labels[l] for l in sm.inputs["spec"].get("podTargetLabels", []) if l in pod_labels}
                out[d.inputs["metadata"]["name"]].append({**base, "service": meta["name"], "job": meta["name"], **extra})
        for pm in of("PodMonitoring"):
            if pm.inputs["metadata"]["namespace"] != ns or not _matches(pm.inputs["spec"]["selector"], pod_labels):
                continue
            extra = {m.get("to") or m["from"]: pod_labels[m["from"]]
                     for m in pm.inputs["spec"].get("targetLabels", {}).get("fromPod", []) if m["from"] in pod_labels}
            out[d.inputs["metadata"]["name"]].append({**base, "job": pm.inputs["metadata"]["name"], **extra})
    return out


def _check_scope(run) -> int:
    metric_name = vllm_metrics(vllm_version()).requests_waiting
    checked = 0
    for scaled in kind(run, "ScaledObject"):
        series = _series(run, metric_name, _cluster(scaled))
        target = scaled.inputs["spec"]["scaleTargetRef"]["name"]
        trigger = next(t for t in scaled.inputs["spec"]["triggers"] if t["type"] == "prometheus")
        metric, selector = _query_selector(trigger["metadata"]["query"])
        assert metric == metric_name
        assert len(series[target]) == 1, f"{target}: scraped {len(series[target])} times (a sum counts each)"
        for name, sets in series.items():
            hits = [s for s in sets if all(s.get(k) == v for k, v in selector.items())]
            if name == target:
                assert hits == sets, f"{target}: its query {selector} misses its own series {sets}"
            else:
                assert not hits, f"{target}: its query {selector} also counts {name}'s queue"
        checked += 1
    return checked


def test_staging_scaled_objects_count_only_their_own_deployment(staging_run):
    assert len(kind(staging_run, "Deployment")) > len(kind(staging_run, "ScaledObject")) >= 1  # a canary beside
    assert _check_scope(staging_run) >= 1


def test_gke_managed_scaled_objects_count_only_their_own_deployment():
    raw = variant("staging", monitoring={"retention_days": 15, "storage_gib": 100, "provider": "gke-managed"})
    run = run_fixture("staging", raw)
    assert kind(run, "PodMonitoring") and not kind(run, "ServiceMonitor")
    assert _check_scope(run) >= 1


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_other_stacks_scale_on_their_own_deployment(stack, request):
    _check_scope(request.getfixturevalue(f"{stack}_run"))


def test_a_load_balancer_service_does_not_scrape_the_pods_twice():
    # exposure: internal adds a LoadBalancer Service beside the ClusterIP one, with the same pods behind it.
    run = run_fixture("dev", variant("dev", serving={"namespace": "llm", "exposure": "internal"}))
    assert any(s.inputs["spec"]["type"] == "LoadBalancer" for s in kind(run, "Service"))
    assert _check_scope(run) >= 1
