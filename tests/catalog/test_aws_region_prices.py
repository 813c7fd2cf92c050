"""AWS GPU types are priced in every catalog region they are offered in, from the SkyPilot catalog (issue 20 item 6).

Truth: tests/upstream/skypilot/aws_vms_gpu.csv, the rows of skypilot-org/skypilot-catalog catalogs/v8/aws/vms.csv
(commit 00148f2a, Apache-2.0) for the catalog's GPU types (SOURCE.md there). On-demand must equal the Price column;
spot must equal the median of the region's AZ SpotPrice samples (Local Zones excluded, capped at on-demand).
"""
from __future__ import annotations

import copy
import csv
import re
import statistics
from pathlib import Path

import pytest

from components.catalog import load_catalog
from components.plan.aws_network import AWS_ZONE_LETTERS
from components.spec.errors import ConfigError
from tests.conftest import plan_of, raw_stack

EXCERPT = Path(__file__).resolve().parents[1] / "upstream" / "skypilot" / "aws_vms_gpu.csv"


def _upstream() -> dict[tuple[str, str], list[dict]]:
    rows: dict[tuple[str, str], list[dict]] = {}
    with open(EXCERPT, newline="") as handle:
        for row in csv.DictReader(handle):
            rows.setdefault((row["InstanceType"], row["Region"]), []).append(row)
    return rows


UPSTREAM = _upstream()
CATALOG = load_catalog()
TYPES = CATALOG.instance_names("aws")


def test_excerpt_covers_every_catalog_type_and_only_catalog_regions():
    assert {t for t, _ in UPSTREAM} == set(TYPES)
    assert {r for _, r in UPSTREAM} <= set(AWS_ZONE_LETTERS)


@pytest.mark.parametrize("name", TYPES)
def test_priced_exactly_where_upstream_offers_it(name):
    """Fails before: every type had us-east-1/us-east-2/us-west-2 rows (two assumed), no other region."""
    offered = {r for t, r in UPSTREAM if t == name}
    assert set(CATALOG.regions("aws", name)) == offered


@pytest.mark.parametrize("key", sorted(UPSTREAM))
def test_on_demand_and_spot_match_upstream(key):
    rows = UPSTREAM[key]
    price = CATALOG.price("aws", *key)
    assert price.on_demand == float(rows[0]["Price"])
    samples = [float(r["SpotPrice"]) for r in rows
               if r["SpotPrice"] and not re.match(r"^[a-z0-9]+-[a-z]+[0-9]+-az[0-9]+$", r["AvailabilityZone"])]
    if samples:
        assert price.spot == pytest.approx(min(statistics.median(samples), price.on_demand), abs=1e-6)
    else:
        assert price.spot is None
    assert "assumed" not in price.source


def test_headline_regions_are_priced():
    """eu-west-1 and ap-southeast-1 had no AWS price at all (the example planned in US regions instead)."""
    assert CATALOG.price("aws", "p4d.24xlarge", "eu-west-1").on_demand == 23.71569
    assert CATALOG.price("aws", "p4de.24xlarge", "ap-southeast-1").on_demand == 32.93646


def test_type_not_offered_in_a_region_stays_refused():
    """g6e.12xlarge has no eu-west-1 row upstream: the pool is refused, never priced from another region."""
    raw = copy.deepcopy(raw_stack("staging"))
    pools = raw["gpuinfra:aws"]["gpu_pools"]
    pools[0]["region"] = "eu-west-1"
    pools[0]["instance_types"] = ["g6e.12xlarge"]
    with pytest.raises(ConfigError, match="eu-west-1"):
        plan_of(raw)
