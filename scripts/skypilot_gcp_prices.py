"""Rewrite stale GCP catalog prices from the vendored SkyPilot GCP catalog excerpt (offline, reviewable).

Usage (from the repo root):
    python scripts/skypilot_gcp_prices.py            # print every (machine, region) decision
    python scripts/skypilot_gcp_prices.py --write    # rewrite the rows marked "write" in gcp_machines.yaml

Input: tests/upstream/skypilot/gcp_vms_gpu.csv, rows of skypilot-org/skypilot-catalog catalogs/v8/gcp/vms.csv
(commit 006059e0, Apache-2.0) for the catalog's machine types and their GPUs; see tests/upstream/skypilot/SOURCE.md.
SkyPilot prices a GCP GPU machine in two rows (skypilot-org/skypilot-catalog issue #31; fetch_gcp.py get_vm_df /
get_gpu_df): the machine-type row (vCPU + RAM SKUs, GPU SKUs skipped) and an accelerator row (AcceleratorName,
AcceleratorCount) = GPU SKU x count. Our catalog stores the total, so per (machine, region):
on_demand = VM Price + GPU Price, spot = VM SpotPrice + GPU SpotPrice (capped at on-demand); every zone of a region
must agree. Bundled Local SSD has no row there (a3-highgpu-8g us-east4 / europe-west4 come out 0.723/h below the
billing export in both regions), so machines with bundled SSD are "not covered (bundled Local SSD)". Decisions: "write" when the row's current on-demand date is older than AS_OF and agrees within TOLERANCE;
"kept: newer source" when the current row is dated on/after AS_OF (the billing export, 2026-07-30); "conflict"
when SkyPilot differs by more than TOLERANCE (its fetcher took the first SKU whose description names the GPU and
only skips DWS Defined Duration SKUs since skypilot PR #9634, 2026-05-18, which this snapshot predates: it has no
g4 rows); "not covered" when the excerpt lacks the VM or GPU row. Only "write" rows change.
"""
from __future__ import annotations

import csv
import datetime
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import typer  # noqa: E402

EXCERPT = ROOT / "tests" / "upstream" / "skypilot" / "gcp_vms_gpu.csv"
CATALOG = ROOT / "components" / "catalog" / "data" / "gcp_machines.yaml"
#: Earliest date the snapshot can have: it lists a4-highgpu-8g at Price 0.0, which fetch_gcp.py writes only since
#: skypilot PR #8125 (opened 2025-11-27; before it A4 rows had no VM price and were dropped). See SOURCE.md.
AS_OF = datetime.date(2025, 11, 27)
#: Largest relative on-demand disagreement with the row's current source that is written without review.
TOLERANCE = 0.02
ANCHOR = "skypilot"


def skypilot_gpu_name(accelerator: str) -> str:
    """SkyPilot's AcceleratorName for a GCP accelerator type (fetch_gcp.py _get_gpus_for_zone normalisation)."""
    name = accelerator.replace("nvidia-", "").replace("tesla-", "").upper()
    return "H100" if "H100-80GB" in name else name


def region_rows(path: Path = EXCERPT) -> dict[tuple[str, str], tuple[float, float]]:
    """Returns (key, region) -> (Price, SpotPrice); key = machine type, or "GPU:count" for accelerator rows.

    Raises:
        ValueError: two zones of one region disagree (the total would depend on the zone).
    """
    out: dict[tuple[str, str], tuple[float, float]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            key = row["InstanceType"] or f"{row['AcceleratorName']}:{row['AcceleratorCount']}"
            value = (float(row["Price"]), float(row["SpotPrice"]))
            if out.setdefault((key, row["Region"]), value) != value:
                raise ValueError(f"{key} {row['Region']}: zones disagree ({out[(key, row['Region'])]} vs {value})")
    return out


@dataclass(frozen=True)
class Decision:
    """What the converter does with one catalog row."""

    machine: str
    region: str
    old: float
    old_as_of: datetime.date
    new: float | None
    new_spot: float | None
    action: str


def decide(machines: dict, rows: dict) -> list[Decision]:
    """One Decision per catalog (machine, region) price row, sorted."""
    out = []
    for name, spec in sorted(machines.items()):
        gpu_key = f"{skypilot_gpu_name(spec['accelerator'])}:{spec['gpu_count']}"
        for region, price in sorted(spec["prices"].items()):
            vm, gpu = rows.get((name, region)), rows.get((gpu_key, region))
            new = spot = None
            if vm is not None and gpu is not None:
                new, spot = round(vm[0] + gpu[0], 6), round(min(vm[1] + gpu[1], vm[0] + gpu[0]), 6)
            if new is None:
                action = "not covered"
            elif spec["local_ssd"]["mode"] == "bundled":
                action = "not covered (bundled Local SSD)"
            elif abs(new / price["on_demand"] - 1) > TOLERANCE:
                action = "conflict"
            else:
                action = "write" if price["as_of"] < AS_OF else "kept: newer source"
            out.append(Decision(name, region, price["on_demand"], price["as_of"], new, spot, action))
    return out


def rewrite(text: str, decisions: list[Decision]) -> str:
    """Returns the catalog text with each "write" row's flow mapping replaced (other lines untouched).

    Raises:
        ValueError: a row to write is not a one-line ``region: {<<: *anchor, on_demand: .., spot: ..}`` entry.
    """
    todo = {(d.machine, d.region): d for d in decisions if d.action == "write"}
    out, current = [], None
    for line in text.splitlines():
        match = re.match(r"^  ([a-z0-9][a-z0-9-]*):\s*$", line)
        current = match.group(1) if match else current
        row = re.match(r"^      ([a-z0-9-]+): \{<<: \*[a-z_]+, on_demand: [0-9.]+, spot: [0-9.]+\}$", line)
        if row and (current, row.group(1)) in todo:
            d = todo.pop((current, row.group(1)))
            line = f"      {d.region}: {{<<: *{ANCHOR}, on_demand: {d.new!r}, spot: {d.new_spot!r}}}"
        out.append(line)
    if todo:
        raise ValueError(f"rows not found as one-line entries: {sorted(todo)}")
    return "\n".join(out) + "\n"


def main(write: bool = typer.Option(False, "--write", help="Rewrite gcp_machines.yaml (default: print only).")):
    """Print every decision, and with --write apply the "write" rows."""
    text = CATALOG.read_text()
    decisions = decide(yaml.safe_load(text)["machines"], region_rows())
    for d in decisions:
        typer.echo(f"{d.machine} {d.region}: {d.old} ({d.old_as_of}) -> {d.new} spot {d.new_spot}: {d.action}")
    if write:
        CATALOG.write_text(rewrite(text, decisions))
        typer.echo(f"wrote {CATALOG}")


if __name__ == "__main__":
    typer.run(main)
