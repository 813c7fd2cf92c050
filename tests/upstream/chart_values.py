"""Helm values against a chart's vendored default values.yaml: every key the program passes must be one the
chart has, except under maps the chart leaves free-form."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

CHARTS = Path(__file__).resolve().parent / "charts"
#: Release chart name (as the plan records it, OCI charts by their last segment) -> vendored directory.
CHART_DIRS = {"kube-prometheus-stack": "kube-prometheus-stack", "dcgm-exporter": "dcgm-exporter", "keda": "keda",
              "cluster-autoscaler": "cluster-autoscaler", "nvidia-device-plugin": "nvidia-device-plugin",
              "gateway-helm": "gateway-helm", "body-based-routing": "body-based-routing",
              "aws-load-balancer-controller": "aws-load-balancer-controller"}
#: Subcharts: values under this top-level key are the subchart's (checked against both files).
SUBCHARTS = {"kube-prometheus-stack": ("grafana", "kube-state-metrics")}
#: Maps the charts document as free-form (any key): chart -> dotted path -> where upstream says so.
FREE_FORM = {
    # "Pass additional flags via the bbr.flags field" (templates/bbr.yaml ranges over the map).
    "body-based-routing": {"bbr.flags": "templates/bbr.yaml"},
    # "Additional container arguments" rendered as --key=value (values.yaml extraArgs comment).
    "cluster-autoscaler": {"extraArgs": "values.yaml extraArgs", "expanderPriorities": "values.yaml"},
    # EnvoyGateway API object ("Visit .../api/extension_types/#envoygateway"): keys checked against its JSON tags.
    "gateway-helm": {"config.envoyGateway": "values.tmpl.yaml config comment"},
    # A container SecurityContext, rendered with toYaml (templates/daemonset.yaml); the API server checks it.
    "dcgm-exporter": {"securityContext": "templates/daemonset.yaml"},
}


def chart_dir(chart: str) -> Path:
    return CHARTS / CHART_DIRS[chart.rsplit("/", 1)[-1]]


def defaults(directory: Path) -> dict:
    return yaml.safe_load((directory / "values.yaml").read_text()) or {}


def conditions(directory: Path) -> set[str]:
    """Values paths the chart's dependencies are switched by (Chart.yaml ``condition``, e.g. ``nfd.enabled``)."""
    chart = yaml.safe_load((directory / "Chart.yaml").read_text()) or {}
    return {c.strip() for d in chart.get("dependencies") or [] for c in (d.get("condition") or "").split(",") if c}


def source(directory: Path) -> dict:
    return json.loads((directory / "source.json").read_text())


def unknown_keys(values: dict, chart_defaults: dict | list[dict], free_form: dict[str, str] | None = None,
                 prefix: str = "") -> list[str]:
    """Dotted paths of ``values`` keys that none of the default trees has.

    A key is known when a default tree has it; below a known key, a default that is a non-empty map is
    recursed into, anything else (empty map, list, scalar, null) accepts any value.
    """
    trees = chart_defaults if isinstance(chart_defaults, list) else [chart_defaults]
    out = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if free_form and path in free_form:
            continue
        present = [t[key] for t in trees if isinstance(t, dict) and key in t]
        if not present:
            out.append(path)
            continue
        maps = [p for p in present if isinstance(p, dict) and p]
        if isinstance(value, dict) and maps and len(maps) == len(present):
            out += unknown_keys(value, maps, free_form, prefix=f"{path}.")
    return out


def lookup(tree: Any, path: str) -> Any:
    for part in path.split("."):
        tree = tree[part]
    return tree
