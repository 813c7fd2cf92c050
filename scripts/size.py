"""Size a model on every catalog GPU node: KV capacity, max concurrency, price, and why others do not fit.

Usage (from the repo root):
    python scripts/size.py --model meta-llama/Llama-3.1-70B-Instruct --dtype fp8 --concurrency 16
    python scripts/size.py --model Qwen/Qwen2.5-7B-Instruct --cloud gcp --region us-central1 --json
    python scripts/size.py --model meta-llama/Llama-3.3-70B-Instruct --dtype fp8 --requests-per-day 500000 \
        --input-tokens 1000 --output-tokens 300 --ttft-p95 3 --itl-p95 0.05 --region us-east-1

With traffic options (--requests-per-day or --peak-rps) candidates are ranked by monthly cost at that traffic
(peak replicas from the performance model, around the clock) with replicas, nodes and $/Mtok (input + output).
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import typer  # noqa: E402

from components.catalog import CLOUDS, PRICE_MAX_AGE_DAYS, Catalog, close_matches, load_catalog  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from components.plan.candidates import Candidate, candidates  # noqa: E402
from components.plan.candidates_traffic import TrafficCandidate, at_traffic  # noqa: E402
from components.spec.traffic import TrafficSpec  # noqa: E402
from components.plan.fit import BYTES_PER_PARAM, KV_BYTES  # noqa: E402

app = typer.Typer(add_completion=False, help=__doc__)


def _fail(option: str, value: str, allowed: list[str], what: str) -> None:
    hint = close_matches(value, allowed)
    suggestion = f"; close matches: {', '.join(hint)}" if hint else f"; allowed: {', '.join(allowed[:12])}"
    typer.echo(f"{option}: {what} {value!r}{suggestion}", err=True)
    raise typer.Exit(2)


def _validate(catalog: Catalog, model: str, dtype: str, kv: str, cloud: Optional[str], region: Optional[str],
              instance_type: Optional[str]) -> None:
    if catalog.model(model) is None:
        _fail("--model", model, catalog.model_ids(), "unknown model")
    if dtype not in BYTES_PER_PARAM:
        _fail("--dtype", dtype, list(BYTES_PER_PARAM), "unknown dtype")
    if kv not in KV_BYTES:
        _fail("--kv-cache-dtype", kv, list(KV_BYTES), "unknown KV cache dtype")
    if cloud is not None and cloud not in CLOUDS:
        _fail("--cloud", cloud, list(CLOUDS), "unknown cloud")
    clouds = [cloud] if cloud else list(CLOUDS)
    if region is not None:
        regions = sorted({r for c in clouds for r in catalog.all_regions(c)})
        if region not in regions:
            _fail("--region", region, regions, "no catalog prices in region")
    if instance_type is not None:
        names = [n for c in clouds for n in catalog.instance_names(c)]
        if instance_type not in names:
            _fail("--instance-type", instance_type, names, "unknown instance type")


def _row(c: Candidate) -> dict:
    f = c.fit
    return {
        "cloud": f.cloud, "region": c.region, "instance_type": f.instance_type, "gpu": f.gpu,
        "gpus_per_node": f.gpus_per_node, "tp": f.tp, "replicas_per_node": f.replicas_per_node,
        "weights_gib_per_gpu": round(f.weights_gib_per_gpu, 2), "kv_tokens": f.kv_tokens,
        "max_concurrency": f.max_concurrency, "fits": f.fits, "reason": f.reason, "hourly_usd": c.hourly_usd,
        "usd_per_mtok": None if c.usd_per_mtok is None else round(c.usd_per_mtok, 3),
    }


def _traffic(requests_per_day, peak_rps, input_tokens, input_p95, output_tokens, output_p95, peak_to_average,
             ttft_p95, itl_p95, availability) -> TrafficSpec | None:
    if requests_per_day is None and peak_rps is None:
        return None
    try:
        return TrafficSpec(
            requests_per_day=requests_per_day, peak_requests_per_second=peak_rps, peak_to_average=peak_to_average,
            input_tokens={"mean": input_tokens, "p95": input_p95}, output_tokens={"mean": output_tokens, "p95": output_p95},
            objectives={"ttft_p95_seconds": ttft_p95, "itl_p95_seconds": itl_p95, "availability": availability})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "traffic"
        typer.echo(f"traffic {where}: {first['msg']} (got {first.get('input')!r})", err=True)
        raise typer.Exit(2)


def _traffic_row(r: TrafficCandidate) -> dict:
    return {**_row(r.candidate), "replica_rps": None if r.replica_rps is None else round(r.replica_rps, 3),
            "replicas_peak": r.replicas_peak, "nodes": r.nodes,
            "monthly_usd": None if r.monthly_usd is None else round(r.monthly_usd, 2),
            "usd_per_mtok": None if r.usd_per_mtok is None else round(r.usd_per_mtok, 4),
            "traffic_reason": r.reason}


def _traffic_table(rows: list[dict]) -> str:
    head = ["cloud", "region", "instance", "gpu", "tp", "req/s per replica", "replicas", "nodes", "$/month",
            "$/Mtok", "note"]
    body = [[r["cloud"], r["region"] or "-", r["instance_type"], r["gpu"], str(r["tp"]),
             "-" if r["replica_rps"] is None else f"{r['replica_rps']:.2f}", str(r["replicas_peak"] or "-"),
             str(r["nodes"] or "-"), "-" if r["monthly_usd"] is None else f"{r['monthly_usd']:,.0f}",
             "-" if r["usd_per_mtok"] is None else f"{r['usd_per_mtok']:.3f}", r["traffic_reason"]] for r in rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in [head, *body])


def _table(rows: list[dict]) -> str:
    head = ["cloud", "region", "instance", "gpu", "gpus", "tp", "repl", "weights/GPU", "KV tokens", "max conc",
            "$/h", "$/Mtok", "fit"]
    body = [[r["cloud"], r["region"] or "-", r["instance_type"], r["gpu"], str(r["gpus_per_node"]), str(r["tp"]),
             str(r["replicas_per_node"]), f"{r['weights_gib_per_gpu']:.1f} GiB", f"{r['kv_tokens']:,}",
             str(r["max_concurrency"]), "-" if r["hourly_usd"] is None else f"{r['hourly_usd']:.3f}",
             "-" if r["usd_per_mtok"] is None else f"{r['usd_per_mtok']:.3f}",
             "yes" if r["fits"] else f"no: {r['reason']}"] for r in rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)) + "  " + line[-1]
                     for line in [head, *body])


@app.command()
def main(
    model: str = typer.Option(..., help="Hugging Face repo id known to the catalog (models.yaml)."),
    dtype: str = typer.Option("bf16", help="Weight dtype: bf16, fp16, fp8, int8 or int4."),
    kv_cache_dtype: str = typer.Option("auto", help="KV cache dtype: auto (16-bit) or fp8."),
    max_model_len: int = typer.Option(8192, min=1, help="Context length vLLM reserves per sequence, tokens."),
    concurrency: int = typer.Option(1, min=1, help="Full-length sequences each replica must hold at once."),
    gpu_memory_utilization: float = typer.Option(0.9, min=0.05, max=1.0, help="vLLM memory fraction."),
    cloud: Optional[str] = typer.Option(None, help="aws or gcp (default: both)."),
    region: Optional[str] = typer.Option(None, help="Price in this region (default: cheapest region per type)."),
    instance_type: Optional[str] = typer.Option(None, help="Only this instance/machine type."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of rows instead of a table."),
    requests_per_day: Optional[float] = typer.Option(None, help="Traffic: requests per day (ranks by cost at it)."),
    peak_rps: Optional[float] = typer.Option(None, help="Traffic: peak requests per second."),
    input_tokens: int = typer.Option(1000, help="Traffic: mean prompt tokens per request."),
    input_p95: Optional[int] = typer.Option(None, help="Traffic: p95 prompt tokens (default: the mean)."),
    output_tokens: int = typer.Option(300, help="Traffic: mean completion tokens per request."),
    output_p95: Optional[int] = typer.Option(None, help="Traffic: p95 completion tokens (default: the mean)."),
    peak_to_average: Optional[float] = typer.Option(None, help="Traffic: peak / average rate (default 2)."),
    ttft_p95: Optional[float] = typer.Option(None, help="Objective: TTFT p95, seconds."),
    itl_p95: Optional[float] = typer.Option(None, help="Objective: inter-token latency p95, seconds."),
    availability: str = typer.Option("none", help="Objective: none or zone (3 zones assumed)."),
) -> None:
    """Lists every (instance type, TP) candidate, cheapest feasible first."""
    catalog = load_catalog()
    _validate(catalog, model, dtype, kv_cache_dtype, cloud, region, instance_type)
    for line in catalog.stale_warnings(datetime.date.today(), PRICE_MAX_AGE_DAYS):
        typer.echo(f"warning: {line}", err=True)
    found = candidates(catalog.model(model), catalog, cloud=cloud, region=region,
                       instance_types=[instance_type] if instance_type else None, dtype=dtype,
                       kv_cache_dtype=kv_cache_dtype, max_model_len=max_model_len, concurrency=concurrency,
                       gpu_memory_utilization=gpu_memory_utilization)
    traffic = _traffic(requests_per_day, peak_rps, input_tokens, input_p95, output_tokens, output_p95,
                       peak_to_average, ttft_p95, itl_p95, availability)
    if traffic is not None:
        ranked = [_traffic_row(r) for r in at_traffic(catalog.model(model), found, traffic)]
        if as_json:
            typer.echo(json.dumps(ranked, indent=2))
            return
        typer.echo(f"{model} at {traffic.average_rps:.2f} req/s average, {traffic.peak_rps:.2f} peak, "
                   f"{input_tokens}/{output_tokens} tokens, TTFT p95 {ttft_p95 or '-'} s, ITL p95 {itl_p95 or '-'} s, "
                   f"availability {availability}")
        typer.echo(_traffic_table(ranked))
        typer.echo("$/month: on-demand nodes for the peak replicas around the clock; $/Mtok: that / (input + output) "
                   "tokens per month at the average rate.")
        return
    rows = [_row(c) for c in found]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(f"{model}: weights {dtype}, KV cache {kv_cache_dtype}, max_model_len {max_model_len}, "
               f"concurrency {concurrency} per replica, gpu_memory_utilization {gpu_memory_utilization:g}")
    typer.echo(_table(rows) if rows else "no candidates")
    typer.echo("$/h: on-demand node price; $/Mtok: from reference benchmarks at saturation (see catalog "
               "throughput.yaml), real utilisation costs more.")


if __name__ == "__main__":
    app()
