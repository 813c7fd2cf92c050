"""Rewrite the AWS catalog's per-region prices from the vendored SkyPilot catalog excerpt (offline, reviewable).

Usage (from the repo root):
    python scripts/skypilot_prices.py            # print the (type, region) rows it would write
    python scripts/skypilot_prices.py --write    # rewrite the `prices:` blocks of aws_instances.yaml

Input: tests/upstream/skypilot/aws_vms_gpu.csv, the GPU rows of skypilot-org/skypilot-catalog
catalogs/v8/aws/vms.csv (commit 00148f2a, Apache-2.0) for the catalog's instance types in every region the plan
knows zones for (components/plan/aws_network.AWS_ZONE_LETTERS); see tests/upstream/skypilot/SOURCE.md.
Per (type, region): on_demand = the Price column (one value per region); spot = the median of the region's
availability-zone SpotPrice samples (local zones such as use1-atl2-az1 excluded, empty samples skipped), capped at
on-demand (AWS caps spot at on-demand; the file rounds to 4 decimals); no sample -> no spot (priced at on-demand).
A (type, region) absent from the file gets no row, so the plan keeps refusing that pool with its usual error.
us-east-1 keeps the Karpenter source/date for on-demand (the values are equal) and its Capacity Block fields.
Only the `prices:` block of each instance is replaced; specs, comments and anchors above it stay as written.
"""
from __future__ import annotations

import csv
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import typer  # noqa: E402

from components.plan.aws_network import AWS_ZONE_LETTERS  # noqa: E402

EXCERPT = ROOT / "tests" / "upstream" / "skypilot" / "aws_vms_gpu.csv"
CATALOG = ROOT / "components" / "catalog" / "data" / "aws_instances.yaml"
#: Local Zones (e.g. use1-atl2-az1) are not regional AZs the stacks place nodes in.
LOCAL_ZONE = re.compile(r"^[a-z0-9]+-[a-z]+[0-9]+-az[0-9]+$")


def region_prices(path: Path = EXCERPT) -> dict[tuple[str, str], tuple[float, float | None, int]]:
    """Returns (type, region) -> (on_demand, spot median or None, number of spot samples) for catalog regions."""
    by_key: dict[tuple[str, str], list[dict]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Region"] in AWS_ZONE_LETTERS:
                by_key.setdefault((row["InstanceType"], row["Region"]), []).append(row)
    out = {}
    for key, rows in by_key.items():
        prices = {float(r["Price"]) for r in rows}
        if len(prices) != 1:
            raise ValueError(f"{key}: several on-demand prices {sorted(prices)}")
        on_demand = prices.pop()
        samples = [float(r["SpotPrice"]) for r in rows
                   if r["SpotPrice"] and not LOCAL_ZONE.match(r["AvailabilityZone"])]
        spot = min(statistics.median(samples), on_demand) if samples else None
        out[key] = (on_demand, spot, len(samples))
    return out


def _num(value: float) -> str:
    return repr(round(value, 6))


def price_lines(name: str, prices: dict, kept: dict[str, str]) -> list[str]:
    """The YAML lines of one instance's `prices:` block (us-east-1 first, then regions sorted)."""
    lines = ["    prices:"]
    regions = sorted((r for (t, r) in prices if t == name), key=lambda r: (r != "us-east-1", r))
    for region in regions:
        on_demand, spot, _ = prices[(name, region)]
        anchors = ["*use1" if region == "us-east-1" else "*sky"] + (["*sky_spot"] if spot is not None else [])
        merge = anchors[0] if len(anchors) == 1 else "[" + ", ".join(anchors) + "]"
        fields = [f"<<: {merge}", f"on_demand: {_num(on_demand)}"] + ([f"spot: {_num(spot)}"] if spot else [])
        if region != "us-east-1" or not kept:
            lines.append(f"      {region}: {{{', '.join(fields)}}}")
            continue
        lines.append(f"      {region}:")
        lines += [f"        {f}" for f in fields] + [f"        {k}: {v}" for k, v in kept.items()]
    return lines


def _kept_fields(text: str) -> dict[str, dict[str, str]]:
    """Capacity Block lines of each instance's us-east-1 row, verbatim (the SkyPilot file has none)."""
    kept: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        match = re.match(r"^  ([a-z0-9][a-z0-9.-]*):\s*$", line)
        current = match.group(1) if match else current
        field = re.match(r"^        (capacity_block\w*): (.*)$", line)
        if field and current:
            kept.setdefault(current, {})[field.group(1)] = field.group(2)
    return kept


def rewrite(text: str, prices: dict) -> str:
    """Returns the catalog text with every instance's `prices:` block regenerated from prices."""
    kept = _kept_fields(text)
    out, skipping, current = [], False, None
    for line in text.splitlines():
        match = re.match(r"^  ([a-z0-9][a-z0-9.-]*):\s*$", line)
        current = match.group(1) if match else current
        if skipping and line.startswith("      "):
            continue
        skipping = False
        if line == "    prices:" and current:
            out += price_lines(current, prices, kept.get(current, {}))
            skipping = True
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def main(write: bool = typer.Option(False, "--write", help="Rewrite aws_instances.yaml (default: print only).")):
    """Print or write the AWS per-region prices taken from the SkyPilot excerpt."""
    prices = region_prices()
    for (name, region), (on_demand, spot, n) in sorted(prices.items()):
        typer.echo(f"{name} {region}: on_demand {on_demand}, spot {spot} (median of {n} AZ samples)")
    if write:
        CATALOG.write_text(rewrite(CATALOG.read_text(), prices))
        typer.echo(f"wrote {CATALOG}")


if __name__ == "__main__":
    typer.run(main)
