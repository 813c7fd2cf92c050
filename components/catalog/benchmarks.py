"""Performance-model data: GPU peaks, calibration constants and published benchmark points (benchmarks.yaml)."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.catalog.types import CatalogError

FILE = Path(__file__).parent / "data" / "benchmarks.yaml"


@dataclass(frozen=True)
class GpuPeak:
    """Datasheet peaks of one GPU: dense tensor TFLOPS (bf16, fp8 or None) and HBM bandwidth in GB/s."""

    name: str
    bf16_tflops: float
    fp8_tflops: float | None
    hbm_gbps: float
    source: str


@dataclass(frozen=True)
class Calibration:
    """Efficiencies and per-step overheads the performance model applies to the datasheet peaks."""

    prefill_mfu: float
    decode_mfu: float
    hbm_efficiency: float
    step_overhead_ms: float
    tp_overhead_ms_per_layer: float


@dataclass(frozen=True)
class BenchPoint:
    """One published measurement (concurrency None = saturation: every request queued at once)."""

    model: str
    gpu: str
    tp: int
    dtype: str
    kv_cache_dtype: str
    engine: str
    input_tokens: int
    output_tokens: int
    concurrency: int | None
    output_tok_s: float | None
    ttft_ms: float | None
    itl_ms: float | None
    source: str
    as_of: dt.date


@dataclass(frozen=True)
class Benchmarks:
    """The contents of benchmarks.yaml."""

    gpus: dict[str, GpuPeak]
    calibration: Calibration
    points: tuple[BenchPoint, ...]

    def gpu(self, name: str) -> GpuPeak | None:
        """Peaks of the GPU ``name``; None when the file has none (no performance model for it)."""
        return self.gpus.get(name)


def _positive(row: dict[str, Any], key: str, where: str, optional: bool = False) -> float | None:
    value = row.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise CatalogError(f"benchmarks.yaml: {where}.{key}: {value!r} must be a number > 0")
    return float(value)


def _point(row: dict[str, Any], where: str) -> BenchPoint:
    conc = row.get("concurrency")
    if conc != "saturation" and not (isinstance(conc, int) and conc >= 1):
        raise CatalogError(f"benchmarks.yaml: {where}.concurrency: {conc!r} must be an integer >= 1 or 'saturation'")
    metrics = {k: _positive(row, k, where, optional=True) for k in ("output_tok_s", "ttft_ms", "itl_ms")}
    if not any(metrics.values()) or not row.get("source"):
        raise CatalogError(f"benchmarks.yaml: {where}: needs a source and at least one measured metric")
    return BenchPoint(
        model=row["model"], gpu=row["gpu"], tp=int(row["tp"]), dtype=row["dtype"],
        kv_cache_dtype=row.get("kv_cache_dtype", "auto"), engine=row["engine"],
        input_tokens=int(_positive(row, "input_tokens", where)), output_tokens=int(_positive(row, "output_tokens", where)),
        concurrency=None if conc == "saturation" else conc, source=row["source"],
        as_of=row["as_of"] if isinstance(row["as_of"], dt.date) else dt.date.fromisoformat(str(row["as_of"])),
        **metrics)


def parse_benchmarks(raw: dict[str, Any]) -> Benchmarks:
    """Validate and type the parsed YAML.

    Raises:
        CatalogError: a row misses a field, a number is not positive, a point has no source or metric.
    """
    gpus = {}
    for name, row in (raw.get("gpus") or {}).items():
        gpus[name] = GpuPeak(name=name, bf16_tflops=_positive(row, "bf16_tflops", f"gpus.{name}"),
                             fp8_tflops=_positive(row, "fp8_tflops", f"gpus.{name}", optional=True),
                             hbm_gbps=_positive(row, "hbm_gbps", f"gpus.{name}"), source=str(row.get("source", "")))
    cal = raw.get("calibration") or {}
    calibration = Calibration(**{k: _positive(cal, k, "calibration") for k in Calibration.__dataclass_fields__})
    points = tuple(_point(row, f"points[{i}]") for i, row in enumerate(raw.get("points") or []))
    for i, p in enumerate(points):
        if p.gpu not in gpus:
            raise CatalogError(f"benchmarks.yaml: points[{i}].gpu: {p.gpu!r} has no entry under gpus")
    return Benchmarks(gpus=gpus, calibration=calibration, points=points)


@functools.lru_cache(maxsize=1)
def load_benchmarks() -> Benchmarks:
    """The shipped benchmarks.yaml, parsed once."""
    return parse_benchmarks(yaml.safe_load(FILE.read_text()))
