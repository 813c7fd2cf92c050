"""GCP GPU machine types are priced in the regions the stacks may use (issue 20 item 6).

Rows added from Cyclenerd/google-cloud-pricing-cost-calculator ``pricing.yml`` (Apache-2.0), the Cloud Billing
Catalog export it generated on 2025-03-06: a2-highgpu-1g / a2-highgpu-8g / a2-ultragpu-8g / a3-highgpu-8g ``hour`` and
``hour_spot`` in us-east1, us-east4, us-west1, europe-west4 (us-central1 and the 2026-07-30 rows kept).
"""
from __future__ import annotations

import copy

import pytest

from components.catalog import load_catalog
from components.preview.gcp_invokes import ZONE_SUFFIXES
from tests.conftest import plan_of, raw_stack

MACHINES = ("a2-highgpu-1g", "a2-highgpu-8g", "a2-ultragpu-8g", "a3-highgpu-8g")


@pytest.mark.parametrize("machine", MACHINES)
def test_machine_is_priced_in_every_region_the_preview_knows_zones_for(machine):
    """Fails before: these types had a price in us-central1 (and a3 in us-east4/europe-west4) only."""
    assert set(ZONE_SUFFIXES) <= set(load_catalog().regions("gcp", machine))


@pytest.mark.parametrize("region", ["us-east1", "us-west1"])
def test_prod_gke_pool_plans_in_another_region(region):
    """The H100 pool moved to a region without a price used to be refused (no catalog price)."""
    raw = copy.deepcopy(raw_stack("prod"))
    gcp = raw["gpuinfra:gcp"]
    gcp["reservations"] = []
    gcp["gpu_pools"][0]["capacity"] = {"on_demand": 1, "spot": 2}
    gcp["gpu_pools"][0]["region"] = region
    plan = plan_of(raw)
    item = next(i for i in plan.cost.items if i.resource == "h100-gke-on-demand")
    assert item.region == region
    assert item.hourly.worst == pytest.approx(load_catalog().price("gcp", "a3-highgpu-8g", region).on_demand)
