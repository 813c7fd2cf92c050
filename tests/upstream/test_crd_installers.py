"""Every custom resource has its CRD on the cluster before it is applied: installed by a Helm release the program
creates on the same cluster (and the resource waits for it), or served by GKE itself.

The preview's mocks accept any kind; a real API server answers "no matches for kind" when the CRD is missing, and
mid-update when the installing release has not finished. Who installs which group is read from the vendored CRDs'
own sources (tests/upstream/crds/*.json ``source.repo`` and ``path``; tests/upstream/SOURCE.md):
- envoyproxy/gateway charts/gateway-helm/charts/crds/...: the gateway-helm chart (Gateway API + Envoy Gateway),
- prometheus-community/helm-charts charts/kube-prometheus-stack/charts/crds/...: kube-prometheus-stack,
- kedacore/charts keda/templates/crds/...: the keda chart,
- GoogleCloudPlatform/prometheus-engine (PodMonitoring, Rules, ClusterRules): GKE's managed collection, present
  when the cluster enables Managed Service for Prometheus (cloud.google.com/stackdriver/docs/managed-prometheus/
  setup-managed: enabling managed collection deploys the operator and its custom resources),
- kubernetes/ingress-gce (BackendConfig) and GKE's ComputeClass dump: served by every GKE cluster.
"""
from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT

CRDS = ROOT / "tests" / "upstream" / "crds"
#: Upstream repository (and path prefix) of a vendored CRD -> the chart that installs it (None: GKE serves it).
INSTALLERS = {
    ("envoyproxy/gateway", "charts/gateway-helm/"): "gateway-helm",
    ("prometheus-community/helm-charts", "charts/kube-prometheus-stack/"): "kube-prometheus-stack",
    ("kedacore/charts", "keda/"): "keda",
    ("GoogleCloudPlatform/prometheus-engine", ""): None,
    ("kubernetes/ingress-gce", ""): None,
    ("tommy351/kubernetes-models-ts", "third-party/gke/"): None,
}
CORE_GROUPS = ("core/", "apps/", "policy/", "networking.k8s.io/", "rbac.authorization.k8s.io/", "batch/",
               "autoscaling/", "scheduling.k8s.io/", "storage.k8s.io/", "helm.sh/", "apiextensions.k8s.io")


def _installer_of() -> dict[str, str | None]:
    """``<group>/<version>:<Kind>`` -> chart name, or None for a GKE-served kind."""
    out = {}
    for path in CRDS.glob("*.json"):
        source = json.loads(path.read_text())["source"]
        chart = next((c for (repo, prefix), c in INSTALLERS.items()
                      if source["repo"] == repo and source["path"].startswith(prefix)), "unknown")
        assert chart != "unknown", f"{path.name}: no installer known for {source['repo']} {source['path']}"
        group, version, kind = path.stem.split("_")
        out[f"{group}/{version}:{kind}"] = chart
    return out


def _closure(by_key: dict, record: dict) -> set[tuple[str, str]]:
    """(type, name) of everything ``record`` waits for through ``dependsOn``, transitively."""
    seen, todo = set(), [record]
    while todo:
        for dep in todo.pop()["options"].get("dependsOn", []):
            key = (dep["type"], dep["name"])
            if key not in seen:
                seen.add(key)
                if key in by_key:
                    todo.append(by_key[key])
    return seen


def _problems(plan: dict, installer_of: dict[str, str | None]) -> tuple[list[str], int]:
    resources = plan["resources"]
    by_key = {(r["type"], r["name"]): r for r in resources}
    providers = {r["name"]: r for r in resources if r["type"] == "pulumi:providers:kubernetes"}
    gke_managed = {r["parent"]["name"] for r in resources if r["type"] == "gcp:container/cluster:Cluster"
                   and (r["inputs"].get("monitoringConfig") or {}).get("managedPrometheus", {}).get("enabled")}
    problems, checked = [], 0
    for r in resources:
        kind = r["type"].removeprefix("kubernetes:")
        if not r["type"].startswith("kubernetes:") or kind.startswith(CORE_GROUPS):
            continue
        checked += 1
        provider = r["options"].get("provider", "")
        parent = (providers.get(provider) or {}).get("parent") or {}
        if kind not in installer_of:
            problems.append(f"{r['name']}: {kind} has no vendored CRD (vendor it with its source)")
            continue
        chart = installer_of[kind]
        if chart is None:
            on_gke = parent.get("type") == "gpuinfra:gcp:GkeCluster"
            managed = not kind.startswith("monitoring.googleapis.com/") or parent.get("name") in gke_managed
            if not (on_gke and managed):
                problems.append(f"{r['name']}: {kind} is served only by GKE (with managed collection for "
                                f"monitoring.googleapis.com), not by the cluster of provider {provider!r}")
            continue
        waits = _closure(by_key, r)
        installers = [rel for rel in resources if rel["type"] == "kubernetes:helm.sh/v3:Release"
                      and rel["options"].get("provider") == provider
                      and rel["inputs"]["chart"].rsplit("/", 1)[-1] == chart and not rel["inputs"].get("skipCrds")]
        if not any((rel["type"], rel["name"]) in waits for rel in installers):
            problems.append(f"{r['name']}: {kind} needs the {chart} release on {provider!r} "
                            f"({'none exists' if not installers else 'it does not wait for it'})")
    return problems, checked


def test_every_custom_resource_finds_its_crd_installed_first(rendered):
    installer_of = _installer_of()
    total, failures = 0, []
    for label, variant in rendered.items():
        problems, checked = _problems(variant.plan, installer_of)
        total += checked
        failures += [f"{label}: {p}" for p in problems]
    assert total > 100, "the check saw almost no custom resources"
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("breakage", ["drop-dependency", "other-cluster", "eks-compute-class"])
def test_the_check_sees_a_missing_installer(rendered, breakage):
    plan = json.loads(json.dumps(rendered["prod"].plan))
    resources = plan["resources"]
    target = next(r for r in resources if r["type"] == "kubernetes:keda.sh/v1alpha1:ScaledObject")
    if breakage == "drop-dependency":
        target["options"]["dependsOn"] = [d for d in target["options"]["dependsOn"]
                                          if d["type"] != "kubernetes:helm.sh/v3:Release"]
    elif breakage == "other-cluster":  # the cluster's KEDA release moves to another cluster's provider
        for rel in resources:
            if rel["type"] == "kubernetes:helm.sh/v3:Release" and rel["inputs"]["chart"] == "keda" \
                    and rel["options"]["provider"] == target["options"]["provider"]:
                rel["options"]["provider"] = "another-cluster-k8s"
    else:
        target = next(r for r in resources if r["type"] == "kubernetes:cloud.google.com/v1:ComputeClass")
        target["options"]["provider"] = next(r["name"] for r in resources if r["type"] == "pulumi:providers:kubernetes"
                                             and r["parent"]["type"] == "gpuinfra:aws:EksCluster")
    problems, _ = _problems(plan, _installer_of())
    assert any(target["name"] in p for p in problems), problems
