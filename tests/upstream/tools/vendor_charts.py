"""Vendor the default values (and values.schema.json where a chart has one) of every chart gpuinfra installs.

Usage: python tests/upstream/tools/vendor_charts.py  (reads the git mirrors; writes tests/upstream/charts/<name>/)
Each directory holds the chart's values file verbatim and ``source.json`` (repo, ref, path, licence). The
refs are the pinned versions where the upstream history holds them, else the nearest earlier release
(tests/upstream/SOURCE.md says which).
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "charts"
MIRRORS = Path("/work/.mirror")
#: directory name -> (repo, ref, chart dir, values file name, licence, chart version the ref holds)
CHARTS = {
    "kube-prometheus-stack": ("prometheus-community/helm-charts", "kube-prometheus-stack-88.5.3",
                              "charts/kube-prometheus-stack", "values.yaml", "Apache-2.0", "88.5.3"),
    "kube-prometheus-stack/grafana": ("grafana-community/helm-charts", "grafana-12.11.1", "charts/grafana",
                                      "values.yaml", "Apache-2.0", "12.11.1"),
    "kube-prometheus-stack/kube-state-metrics": ("prometheus-community/helm-charts", "kube-state-metrics-8.4.0",
                                                 "charts/kube-state-metrics", "values.yaml", "Apache-2.0", "8.4.0"),
    "dcgm-exporter": ("NVIDIA/dcgm-exporter", "4.5.3-4.8.2", "deployment", "values.yaml", "Apache-2.0", "4.8.2"),
    "keda": ("kedacore/charts", "v2.20.2", "keda", "values.yaml", "Apache-2.0", "2.20.2"),
    "cluster-autoscaler": ("kubernetes/autoscaler", "cluster-autoscaler-chart-9.59.0",
                           "cluster-autoscaler/charts/cluster-autoscaler", "values.yaml", "Apache-2.0", "9.59.0"),
    "nvidia-device-plugin": ("NVIDIA/k8s-device-plugin", "v0.19.3", "deployments/helm/nvidia-device-plugin",
                             "values.yaml", "Apache-2.0", "0.19.3"),
    "gateway-helm": ("envoyproxy/gateway", "release/v1.9", "charts/gateway-helm", "values.tmpl.yaml", "Apache-2.0",
                     "v1.9.x (release branch)"),
    "body-based-routing": ("kubernetes-sigs/gateway-api-inference-extension", "v1.4.0",
                           "config/charts/body-based-routing", "values.yaml", "Apache-2.0", "v1.4.0"),
    # Same files as aws/eks-charts stable/aws-load-balancer-controller (chart 3.5.0), released with the app tag.
    "aws-load-balancer-controller": ("kubernetes-sigs/aws-load-balancer-controller", "v3.5.0",
                                     "helm/aws-load-balancer-controller", "values.yaml", "Apache-2.0", "3.5.0"),
}
#: Extra upstream files some checks need: (dir, repo, ref, path, saved name).
EXTRA = [
    ("gateway-helm", "envoyproxy/gateway", "release/v1.9", "api/v1alpha1/envoygateway_types.go", "envoygateway_json_tags.txt"),
    ("body-based-routing", "kubernetes-sigs/gateway-api-inference-extension", "v1.4.0",
     "config/charts/body-based-routing/templates/bbr.yaml", "bbr.yaml"),
]


def _git(repo: str, *args: str) -> str:
    git_dir = MIRRORS / repo.replace("/", "+") / "repo"
    result = subprocess.run(["git", "-C", str(git_dir), *args], capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else ""


def main() -> None:
    for name, (repo, ref, chart_dir, values, licence, version) in CHARTS.items():
        out = OUT / name
        out.mkdir(parents=True, exist_ok=True)
        (out / "values.yaml").write_text(_git(repo, "show", f"{ref}:{chart_dir}/{values}"))
        (out / "Chart.yaml").write_text(_git(repo, "show", f"{ref}:{chart_dir}/Chart.yaml"))
        schema = _git(repo, "show", f"{ref}:{chart_dir}/values.schema.json")
        if schema:
            (out / "values.schema.json").write_text(schema)
        commit = _git(repo, "rev-parse", ref).strip()
        (out / "source.json").write_text(json.dumps({"repo": repo, "ref": ref, "commit": commit, "path":
                                                     f"{chart_dir}/{values}", "licence": licence,
                                                     "chart_version": version}, indent=1) + "\n")
    for name, repo, ref, path, saved in EXTRA:
        text = _git(repo, "show", f"{ref}:{path}")
        if saved.endswith("_json_tags.txt"):  # only the facts needed: the JSON field names of the API types
            tags = sorted(set(re.findall(r'json:"([A-Za-z0-9]+)[,"]', text)))
            text = f"# JSON field names in {repo}@{ref}:{path} ({'Apache-2.0'})\n" + "\n".join(tags) + "\n"
        (OUT / name / saved).write_text(text)


if __name__ == "__main__":
    main()
