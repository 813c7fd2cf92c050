"""Vendor the ``openAPIV3Schema`` of the CRDs gpuinfra renders objects of, as test data (descriptions dropped).

Usage: python tests/upstream/tools/vendor_crds.py  (reads the git mirrors named in CRDS; writes tests/upstream/crds/)
Each output file is ``<group>_<version>_<Kind>.json``: {"source": {...}, "schema": <openAPIV3Schema>}.
Helm-templated CRD files (KEDA's chart) have their template-only lines removed before parsing.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parents[1] / "crds"
MIRRORS = Path("/work/.mirror")
EG, EG_REF = "envoyproxy/gateway", "release/v1.9"
EG_CRDS = "charts/gateway-helm/charts/crds/crds"
KPS, KPS_REF = "prometheus-community/helm-charts", "kube-prometheus-stack-88.5.3"
KPS_CRDS = "charts/kube-prometheus-stack/charts/crds/crds"
#: (repo, ref, path, licence, [(group, version, kind)])
CRDS = [
    (EG, EG_REF, f"{EG_CRDS}/gatewayapi-crds.yaml", "Apache-2.0",
     [("gateway.networking.k8s.io", "v1", k) for k in ("GatewayClass", "Gateway", "HTTPRoute")]),
    *[(EG, EG_REF, f"{EG_CRDS}/generated/gateway.envoyproxy.io_{plural}.yaml", "Apache-2.0",
       [("gateway.envoyproxy.io", "v1alpha1", kind)]) for plural, kind in (
        ("envoyproxies", "EnvoyProxy"), ("clienttrafficpolicies", "ClientTrafficPolicy"),
        ("securitypolicies", "SecurityPolicy"), ("backendtrafficpolicies", "BackendTrafficPolicy"),
        ("envoyextensionpolicies", "EnvoyExtensionPolicy"), ("httproutefilters", "HTTPRouteFilter"))],
    *[(KPS, KPS_REF, f"{KPS_CRDS}/crd-{plural}.yaml", "Apache-2.0", [("monitoring.coreos.com", "v1", kind)])
      for plural, kind in (("servicemonitors", "ServiceMonitor"), ("podmonitors", "PodMonitor"),
                           ("prometheusrules", "PrometheusRule"))],
    ("kedacore/charts", "v2.20.2", "keda/templates/crds/crd-scaledobjects.yaml", "Apache-2.0",
     [("keda.sh", "v1alpha1", "ScaledObject")]),
    ("kedacore/charts", "v2.20.2", "keda/templates/crds/crd-triggerauthentications.yaml", "Apache-2.0",
     [("keda.sh", "v1alpha1", "TriggerAuthentication")]),
    *[("GoogleCloudPlatform/prometheus-engine", "v0.17.2", f"charts/operator/crds/monitoring.googleapis.com_{p}.yaml",
       "Apache-2.0", [("monitoring.googleapis.com", "v1", kind)])
      for p, kind in (("podmonitorings", "PodMonitoring"), ("clusterrules", "ClusterRules"), ("rules", "Rules"))],
    # GKE serves ComputeClass itself (no upstream chart or repo ships it); this is the CRD as a GKE cluster served
    # it, dumped by the repository's scripts/dump-crd.ts (last change 2025-04-11).
    ("tommy351/kubernetes-models-ts", "30506b926a48eba263a79ac0e17f995f5505c0d0",
     "third-party/gke/crd/computeclasses.yaml", "MIT (repository); CRD served by GKE",
     [("cloud.google.com", "v1", "ComputeClass")]),
]
TEMPLATE_LINE = re.compile(r"\{\{.*\}\}")  # any line holding a template action (metadata labels only)


def _strip(node):
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _show(repo: str, ref: str, path: str) -> str:
    git_dir = MIRRORS / repo.replace("/", "+") / "repo"
    return subprocess.run(["git", "-C", str(git_dir), "show", f"{ref}:{path}"], check=True, capture_output=True,
                          text=True).stdout


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for repo, ref, path, licence, wanted in CRDS:
        text = "\n".join(line for line in _show(repo, ref, path).splitlines() if not TEMPLATE_LINE.search(line))
        docs = [d for d in yaml.safe_load_all(text) if d and d.get("kind") == "CustomResourceDefinition"]
        for group, version, kind in wanted:
            crd = next(d for d in docs if d["spec"]["group"] == group and d["spec"]["names"]["kind"] == kind)
            served = next(v for v in crd["spec"]["versions"] if v["name"] == version)
            commit = subprocess.run(["git", "-C", str(MIRRORS / repo.replace("/", "+") / "repo"), "rev-parse", ref],
                                    capture_output=True, text=True).stdout.strip()
            source = {"repo": repo, "ref": ref, "commit": commit, "path": path, "licence": licence, "crd": crd["metadata"]["name"],
                      "annotations": {k: v for k, v in (crd["metadata"].get("annotations") or {}).items()
                                      if "version" in k or "channel" in k}}
            doc = {"source": source, "schema": _strip(served["schema"]["openAPIV3Schema"])}
            (OUT / f"{group}_{version}_{kind}.json").write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True))
            print(f"{group}/{version} {kind}: {repo}@{ref}:{path}", file=sys.stderr)


if __name__ == "__main__":
    main()
