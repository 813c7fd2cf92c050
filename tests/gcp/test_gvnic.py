"""gVNIC where the machine series requires it (issue 18, item 2): the mocks accept any nic_type, Compute Engine
does not boot an A3 VM without gVNIC."""
from __future__ import annotations

from components.catalog import load_catalog

TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
NODE_POOL = "gcp:container/nodePool:NodePool"

#: Machine series that boot only with the gVNIC driver, per Compute Engine "Accelerator-optimized machine family"
#: (cloud.google.com/compute/docs/accelerator-optimized-machines: A4X, A4 and A3 use gVNIC) and "Using Google
#: Virtual NIC" (cloud.google.com/compute/docs/networking/using-gvnic: A2 and G2 accept VirtIO-Net too).
GVNIC_ONLY_SERIES = {"a3", "a4", "a4x"}


def _series(machine_type: str) -> str:
    return machine_type.split("-")[0]


def test_the_catalog_marks_exactly_the_gvnic_only_series():
    machines = [i for i in load_catalog().instances.values() if i.cloud == "gcp"]
    assert any(_series(m.name) in GVNIC_ONLY_SERIES for m in machines), "the catalog has an A3/A4 row to check"
    for m in machines:
        assert m.gvnic_required == (_series(m.name) in GVNIC_ONLY_SERIES), m.name


def test_vm_templates_use_gvnic_where_the_series_requires_it(vm):
    templates = vm.of_type(TEMPLATE)
    assert {_series(t.inputs["machineType"]) for t in templates} >= {"a3", "g2"}
    for t in templates:
        nics = t.inputs["networkInterfaces"]
        assert len(nics) == 1
        if _series(t.inputs["machineType"]) in GVNIC_ONLY_SERIES:
            assert nics[0].get("nicType") == "GVNIC", t.name
        else:
            assert nics[0].get("nicType") in (None, "GVNIC"), t.name


def test_gke_gpu_pools_of_gvnic_only_series_enable_gvnic(prod):
    pools = [p for p in prod.of_type(NODE_POOL)
             if _series(p.inputs["nodeConfig"].get("machineType", "")) in GVNIC_ONLY_SERIES]
    assert pools, "prod has an A3 pool"
    for p in pools:
        assert p.inputs["nodeConfig"]["gvnic"] == {"enabled": True}, p.name
