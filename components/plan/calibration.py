"""The performance model against published benchmark points: per-point error, summary, and the calibration search."""
from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, replace

from components.catalog import load_catalog
from components.catalog.benchmarks import BenchPoint, Calibration, load_benchmarks
from components.plan.engine_args import MAX_NUM_SEQS_CAP
from components.plan.fit import fit_on_gpus
from components.plan.performance import replica_model

#: The metrics a point may publish, with the unit the table prints them in.
METRICS = ("output_tok_s", "ttft_ms", "itl_ms")


@dataclass(frozen=True)
class PointError:
    """One metric of one point: measured, predicted, relative error (predicted / measured - 1)."""

    point: BenchPoint
    metric: str
    measured: float
    predicted: float

    @property
    def error(self) -> float:
        """Relative error, signed."""
        return self.predicted / self.measured - 1


def predict(point: BenchPoint, calibration: Calibration | None = None) -> dict[str, float]:
    """The model's output tok/s, TTFT and ITL (ms) for the setup of ``point``.

    Raises:
        ValueError: the point's model is not in the catalog (benchmarks.yaml must use catalog models).
    """
    catalog = load_catalog()
    arch = catalog.model(point.model)
    if arch is None:
        raise ValueError(f"benchmark model {point.model!r} is not in the catalog")
    f = fit_on_gpus(arch, catalog.gpu(point.gpu), point.tp, point.tp, dtype=point.dtype,
                    kv_cache_dtype=point.kv_cache_dtype, max_model_len=point.input_tokens + point.output_tokens,
                    concurrency=1)
    model = replica_model(arch, point.gpu, point.tp, point.dtype, f.kv_bytes_per_token_per_gpu, f.kv_tokens,
                          MAX_NUM_SEQS_CAP, calibration)
    load = model.closed_loop(point.concurrency, point.input_tokens, point.output_tokens)
    return {"output_tok_s": load.output_tok_s, "ttft_ms": load.ttft_s * 1000, "itl_ms": load.itl_s * 1000}


def errors(calibration: Calibration | None = None) -> list[PointError]:
    """Every published metric of every point with the model's prediction."""
    out = []
    for point in load_benchmarks().points:
        predicted = predict(point, calibration)
        for metric in METRICS:
            measured = getattr(point, metric)
            if measured is not None:
                out.append(PointError(point, metric, measured, predicted[metric]))
    return out


def summary(rows: list[PointError]) -> tuple[float, float]:
    """(median, p90) of the absolute relative errors."""
    values = sorted(abs(r.error) for r in rows)
    p90 = values[min(len(values) - 1, max(0, round(0.9 * len(values)) - 1))]
    return statistics.median(values), p90


GRID = {
    "prefill_mfu": (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65),
    "decode_mfu": (0.3, 0.4, 0.5, 0.6),
    "hbm_efficiency": (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9),
    "step_overhead_ms": (1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
    "tp_overhead_ms_per_layer": (0.0, 0.01, 0.02, 0.03, 0.04),
}


def search() -> tuple[Calibration, float, float]:
    """Grid search for the calibration with the lowest (median, p90) error; returns it with its figures."""
    base = load_benchmarks().calibration
    best: tuple[tuple[float, float], Calibration] | None = None
    for values in itertools.product(*GRID.values()):
        cal = replace(base, **dict(zip(GRID, values)))
        score = summary(errors(cal))
        if best is None or score < best[0]:
            best = (score, cal)
    (median, p90), cal = best
    return cal, median, p90
