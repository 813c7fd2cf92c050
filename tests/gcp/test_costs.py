"""Every GCP cost item names a recorded resource of its type; GCP costs are catalog price x count."""
from __future__ import annotations

import pytest

from components.catalog import load_catalog
from components.catalog.services import service_price
from components.plan.cost import GB_PER_GIB, HOURS_PER_MONTH
from components.plan.gcp_shapes import node_shape
from components.plan.storage import billed_local_ssd


@pytest.fixture(params=["staging", "prod", "vm"])
def stack(request):
    return request.getfixturevalue(request.param)


def _gcp_items(stack):
    return [i for i in stack.plan.cost.items if i.type.startswith("gcp:")]


def test_every_gcp_cost_item_is_a_recorded_resource(stack):
    items = _gcp_items(stack)
    assert items
    recorded = {(r.type, r.name) for r in stack.run.resources}
    missing = [(i.type, i.resource) for i in items if (i.type, i.resource) not in recorded]
    assert not missing, missing


def test_rung_costs_are_catalog_price_times_count(stack):
    catalog = load_catalog()
    for pool in stack.spec.gcp.gpu_pools:
        inst = catalog.instance("gcp", pool.instance_types[0])
        ssd = 0.0
        if billed_local_ssd(inst):
            gib = node_shape(stack.plan.basis, pool).local_ssd_count * 375 / GB_PER_GIB
            ssd = gib * catalog.local_ssd_usd_per_gib_month / HOURS_PER_MONTH
        price = catalog.price("gcp", inst.name, stack.spec.pool_region("gcp", pool))
        for item in (i for i in _gcp_items(stack) if i.resource.startswith(f"{pool.name}-")):
            # Floors and the spot rung's worst case pay on-demand; spot's best case pays the spot sample.
            assert item.hourly.worst == pytest.approx((price.on_demand + ssd) * item.count_max)
            if item.purchase == "spot":
                # With traffic the best case counts the burst's mean nodes (tests/plan/test_cost_traffic.py).
                assert item.unit_hourly.best == pytest.approx(price.spot + ssd)
                assert item.hourly.best <= (price.spot + ssd) * item.count_max + 1e-9


def test_platform_costs(stack):
    items = {i.resource: i for i in _gcp_items(stack)}
    region = stack.spec.gcp.region
    if stack.spec.gcp.mode == "gke":
        cluster = items[f"gpuinfra-{stack.spec.environment}-{region}-gke"]
        assert cluster.hourly.best == pytest.approx(service_price("control_planes", "gke_cluster_hour").usd)
    else:
        lb = items[f"serving-ilb-{region}"]
        assert lb.hourly.best == pytest.approx(service_price("network", "gcp_forwarding_rule_hour").usd)


def test_fully_used_reservation_adds_no_idle_cost(prod):
    reservation = next(i for i in _gcp_items(prod) if i.type == "gcp:compute/reservation:Reservation")
    assert reservation.count_max == 0 and reservation.hourly.worst == 0
