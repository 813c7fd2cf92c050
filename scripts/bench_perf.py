"""Performance model vs published benchmarks: ``python scripts/bench_perf.py [--fit] [--markdown]``.

Prints the model's prediction and relative error for every metric of every point in catalog benchmarks.yaml, then
the median and p90 of the absolute errors (targets: median <= 15 %, p90 <= 30 %). ``--fit`` runs the grid search
and prints the calibration that minimises (median, p90), to paste into benchmarks.yaml. Exit 1 when a target is missed.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import typer  # noqa: E402

from components.plan.calibration import PointError, errors, search, summary  # noqa: E402

app = typer.Typer(add_completion=False, help=__doc__)
TARGET_MEDIAN, TARGET_P90 = 0.15, 0.30


def _cells(r: PointError) -> list[str]:
    p = r.point
    conc = "saturation" if p.concurrency is None else str(p.concurrency)
    return [p.model.split("/")[-1], p.gpu, f"TP{p.tp} {p.dtype}", f"{p.input_tokens}/{p.output_tokens}", conc,
            p.engine.split(" (")[0], r.metric, f"{r.measured:,.1f}", f"{r.predicted:,.1f}", f"{r.error:+.1%}"]


HEAD = ["model", "gpu", "setup", "in/out", "concurrency", "engine", "metric", "measured", "model", "error"]


@app.command()
def main(fit: bool = typer.Option(False, help="Search the calibration grid and print the best constants."),
         markdown: bool = typer.Option(False, help="Print a Markdown table (README).")) -> None:
    """Prints every point's error and the median / p90."""
    if fit:
        cal, median, p90 = search()
        typer.echo(f"best calibration: {cal} (median {median:.1%}, p90 {p90:.1%})")
    rows = errors()
    lines = [HEAD, *(_cells(r) for r in rows)]
    if markdown:
        typer.echo("| " + " | ".join(HEAD) + " |\n|" + "---|" * len(HEAD))
        typer.echo("\n".join("| " + " | ".join(line) + " |" for line in lines[1:]))
    else:
        widths = [max(len(line[i]) for line in lines) for i in range(len(HEAD))]
        typer.echo("\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines))
    median, p90 = summary(rows)
    typer.echo(f"\n{len(rows)} metrics on {len({id(r.point) for r in rows})} points: median |error| {median:.1%} "
               f"(target <= {TARGET_MEDIAN:.0%}), p90 {p90:.1%} (target <= {TARGET_P90:.0%})")
    if median > TARGET_MEDIAN or p90 > TARGET_P90:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
