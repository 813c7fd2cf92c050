"""Metric names per exporter: vLLM names resolved for the deployed vLLM version, DCGM and kube-state-metrics lists."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

METRICS_FILE = Path(__file__).resolve().parent / "data" / "vllm_metrics.yaml"


@functools.cache
def _raw() -> dict[str, Any]:
    return yaml.safe_load(METRICS_FILE.read_text())


def parse_version(version: str) -> tuple[int, ...]:
    """``v0.15.1`` / ``0.15.1rc2`` -> ``(0, 15, 1)`` (pre-release suffixes ignored).

    Raises:
        ValueError: The text holds no ``X.Y[.Z]`` version.
    """
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", version.strip())
    if not match:
        raise ValueError(f"not a vLLM version: {version!r} (expected e.g. v0.15.1)")
    return tuple(int(g or 0) for g in match.groups())


@dataclass(frozen=True)
class VllmMetrics:
    """vLLM metric names for one vLLM release (attribute = logical name in vllm_metrics.yaml)."""

    version: str
    names: dict[str, str]

    def __getattr__(self, logical: str) -> str:
        try:
            return self.__dict__["names"][logical]
        except KeyError:
            raise AttributeError(f"no vLLM metric {logical!r} for {self.__dict__.get('version')}") from None


def vllm_metrics(version: str) -> VllmMetrics:
    """Resolve every logical vLLM metric to its name in ``version``.

    Args:
        version: The deployed vLLM release (``versions.vllm_version()`` or ``spec.serving.vllm_version``).

    Returns:
        Names keyed by logical name (e.g. ``kv_cache_usage`` -> ``vllm:kv_cache_usage_perc`` from 0.9.0).

    Raises:
        ValueError: The version predates every entry of a metric.
    """
    wanted = parse_version(version)
    names: dict[str, str] = {}
    for logical, entries in _raw()["vllm"].items():
        known = [e for e in entries if parse_version(e["since"]) <= wanted]
        if not known:
            raise ValueError(f"vLLM {version} is older than every known name of {logical!r}")
        names[logical] = max(known, key=lambda e: parse_version(e["since"]))["name"]
    return VllmMetrics(version=version, names=names)


def exporter_metrics() -> frozenset[str]:
    """DCGM exporter, kube-state-metrics and Prometheus series names the rules may use (version independent)."""
    raw = _raw()
    return frozenset(raw["dcgm"]) | frozenset(raw["kube_state_metrics"]) | frozenset(raw["prometheus"])


def known_metrics(version: str) -> frozenset[str]:
    """Every raw metric name a rule or dashboard may use with vLLM ``version`` (histograms add their suffixes)."""
    vllm = set(vllm_metrics(version).names.values())
    suffixed = {f"{n}_{s}" for n in vllm for s in ("bucket", "sum", "count")}
    return frozenset(vllm | suffixed) | exporter_metrics()
