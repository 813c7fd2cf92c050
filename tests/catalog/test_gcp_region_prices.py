"""GCP rows the SkyPilot catalog covers are refreshed from it, and only where it is trustworthy (issue 20 item 6).

Truth: tests/upstream/skypilot/gcp_vms_gpu.csv, rows of skypilot-org/skypilot-catalog catalogs/v8/gcp/vms.csv
(commit 006059e0, Apache-2.0; SOURCE.md there). SkyPilot prices a GCP GPU machine as its machine-type row (vCPU +
RAM) plus the accelerator row for its GPU model and count (skypilot-org/skypilot-catalog issue #31; fetch_gcp.py
get_vm_df / get_gpu_df). GPU names follow fetch_gcp.py _get_gpus_for_zone ("nvidia-"/"tesla-" dropped, upper case,
H100-80GB -> H100). The snapshot is dated 2025-11-27 at the earliest (a4-highgpu-8g priced 0.0, skypilot PR #8125).
"""
from __future__ import annotations

import csv
import datetime
from pathlib import Path

import pytest
import yaml

from components.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
EXCERPT = ROOT / "tests" / "upstream" / "skypilot" / "gcp_vms_gpu.csv"
DATA = ROOT / "components" / "catalog" / "data" / "gcp_machines.yaml"
SKYPILOT_GPU = {"nvidia-l4": "L4", "nvidia-tesla-a100": "A100", "nvidia-a100-80gb": "A100-80GB",
                "nvidia-h100-80gb": "H100"}
SNAPSHOT_EARLIEST = datetime.date(2025, 11, 27)
BILLING_EXPORT = datetime.date(2026, 7, 30)
CATALOG = load_catalog()
MACHINES = yaml.safe_load(DATA.read_text())["machines"]


def _upstream() -> dict[tuple[str, str], list[tuple[float, float]]]:
    rows: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with open(EXCERPT, newline="") as handle:
        for row in csv.DictReader(handle):
            key = row["InstanceType"] or f"{row['AcceleratorName']}:{row['AcceleratorCount']}"
            rows.setdefault((key, row["Region"]), []).append((float(row["Price"]), float(row["SpotPrice"])))
    return rows


UPSTREAM = _upstream()


def _total(name: str, region: str) -> tuple[float, float] | None:
    """VM row + GPU row (one value per region: every zone must agree), None when either row is missing."""
    spec = MACHINES[name]
    parts = [UPSTREAM.get((name, region)),
             UPSTREAM.get((f"{SKYPILOT_GPU[spec['accelerator']]}:{spec['gpu_count']}", region))]
    if any(p is None for p in parts):
        return None
    assert all(len(set(p)) == 1 for p in parts), f"{name} {region}: zones disagree"
    (vm_od, vm_spot), (gpu_od, gpu_spot) = parts[0][0], parts[1][0]
    return vm_od + gpu_od, min(vm_spot + gpu_spot, vm_od + gpu_od)


ROWS = sorted((name, region) for name, spec in MACHINES.items() for region in spec["prices"])


def test_excerpt_covers_every_catalog_machine():
    assert {k for k, _ in UPSTREAM if ":" not in k} == set(MACHINES)
    assert {f"{SKYPILOT_GPU[s['accelerator']]}:{s['gpu_count']}" for s in MACHINES.values()} == \
        {k for k, _ in UPSTREAM if ":" in k}


def test_skypilot_rows_are_vm_plus_gpu():
    rows = [k for k in ROWS if "SkyPilot" in CATALOG.price("gcp", *k).source]
    assert rows, "no catalog row comes from the SkyPilot snapshot"
    for key in rows:
        price = CATALOG.price("gcp", *key)
        on_demand, spot = _total(*key)
        assert price.on_demand == pytest.approx(on_demand, abs=1e-6), key
        assert price.spot == pytest.approx(spot, abs=1e-6), key
        assert price.as_of == price.spot_as_of == SNAPSHOT_EARLIEST, key


def _agrees(key) -> bool:
    """The snapshot covers the row (VM + GPU, no bundled Local SSD it cannot price) within 2 % on-demand."""
    total = _total(*key)
    bundled = MACHINES[key[0]]["local_ssd"]["mode"] == "bundled"
    return total is not None and not bundled and abs(total[0] / CATALOG.price("gcp", *key).on_demand - 1) <= 0.02


def test_no_agreeing_row_older_than_the_snapshot_is_left():
    """Fails before: a2-highgpu-1g/8g us-east1 and us-west1 kept the 2025-03-06 export (and its spot samples)
    although the newer snapshot prices them the same on-demand."""
    rows = [k for k in ROWS if _agrees(k)]
    assert len(rows) >= 4
    stale = [k for k in rows if CATALOG.price("gcp", *k).as_of < SNAPSHOT_EARLIEST]
    assert not stale, stale


def test_billing_export_rows_agree_with_skypilot_on_demand():
    """Two independent sources for the rows kept from the 2026-07-30 export (rounded to 3 decimals there)."""
    rows = [k for k in ROWS if MACHINES[k[0]]["local_ssd"]["mode"] != "bundled" and _total(*k) is not None
            and CATALOG.price("gcp", *k).as_of == BILLING_EXPORT]
    assert rows, "no billing-export row is covered by the snapshot"
    for key in rows:
        assert CATALOG.price("gcp", *key).on_demand == pytest.approx(_total(*key)[0], abs=6e-4), key


def test_converter_output_is_the_committed_catalog():
    from scripts import skypilot_gcp_prices as module
    text = DATA.read_text()
    decisions = module.decide(MACHINES, module.region_rows())
    assert module.rewrite(text, decisions) == text
    assert module.AS_OF == SNAPSHOT_EARLIEST
