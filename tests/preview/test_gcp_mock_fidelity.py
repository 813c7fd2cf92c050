"""The GCP mocks answer like the real API: ids in the provider's own formats, GKE versions from the channel.

Upstream truth: the "can be imported" id formats in the installed pulumi_gcp SDK's docstrings (for generated
resources the first format is the id the provider stores), and the GKE release notes' channel table carried in versions.yaml."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from pulumi.runtime import MockResourceArgs

from components.plan.gcp_shapes import gke_channel_minors
from components.preview.mocks import GpuinfraMocks
from components.preview.run import run_program
from tests.conftest import ROOT
from tests.gcp import variants

SDK = Path(importlib.util.find_spec("pulumi_gcp").origin).parent


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("i_a_m_", "iam_")


def _id_format(token: str) -> str | None:
    """The first import format of the type's SDK class (``projects/{{project}}/regions/{{region}}/...``)."""
    module, _, kind = token.split(":", 1)[1].rpartition(":")
    package, resource = module.split("/")
    source = SDK / package / f"{_snake(resource)}.py"
    if not source.exists():
        return None
    found = re.search(r"can be imported using any of these accepted formats:\s*\n\s*\* `([^`]+)`", source.read_text())
    return found.group(1) if found else None


@pytest.fixture(scope="module")
def records():
    out = []
    for raw, stack in ((variants.vm_mode(), "staging"), (variants.gcp_only("prod"), "prod")):
        out += [r for r in run_program(ROOT, stack, raw_config=raw).resources if r.type.startswith("gcp:") and r.custom]
    return out


def test_every_mocked_compute_and_container_id_has_the_providers_format(records):
    checked = set()
    for record in records:
        if not record.type.startswith(("gcp:compute/", "gcp:container/")):
            continue
        fmt = _id_format(record.type)
        if not fmt or not fmt.startswith("projects/"):
            continue  # hand-written resources (cluster, node pool, region IGM) list import shorthands, not the id
        pattern = "^" + re.sub(r"\\\{\\\{[a-zA-Z_]+\\\}\\\}", "[^/]+", re.escape(fmt)) + "$"
        ident = record.outputs.get("id")
        assert ident and re.match(pattern, ident), f"{record.type} {record.name}: id {ident!r} is not {fmt!r}"
        region = record.inputs.get("region")
        if region and "{{region}}" in fmt:
            assert f"/regions/{region}/" in ident, (record.type, ident)
        checked.add(record.type)
    # Regional load-balancing and autoscaling objects are among them (they used to get global ids).
    assert {"gcp:compute/regionAutoscaler:RegionAutoscaler", "gcp:compute/regionHealthCheck:RegionHealthCheck",
            "gcp:compute/forwardingRule:ForwardingRule", "gcp:compute/routerNat:RouterNat"} <= checked


def test_node_pool_instance_groups_are_in_its_own_zones(records):
    for record in records:
        if record.type == "gcp:container/nodePool:NodePool":
            zones = record.inputs["nodeLocations"]
            urls = record.outputs["instanceGroupUrls"]
            assert sorted(u.split("/zones/")[1].split("/")[0] for u in urls) == sorted(zones), record.name


@pytest.mark.parametrize("channel", ["RAPID", "REGULAR", "STABLE"])
def test_the_cluster_version_is_one_its_channel_offers(channel):
    mocks = GpuinfraMocks({"gcp:project": "acme", "gcp:region": "us-central1"})
    lo, hi = gke_channel_minors(channel)
    _, cluster = mocks.new_resource(MockResourceArgs("gcp:container/cluster:Cluster", "c", {
        "minMasterVersion": lo, "releaseChannel": {"channel": channel}}))
    minor = tuple(int(x) for x in cluster["masterVersion"].split(".")[:2])
    assert tuple(int(x) for x in lo.split(".")) <= minor <= tuple(int(x) for x in hi.split("."))
    newer = f"1.{int(hi.split('.')[1]) + 1}"
    with pytest.raises(ValueError, match="unsupported"):
        mocks.new_resource(MockResourceArgs("gcp:container/cluster:Cluster", "c2", {
            "minMasterVersion": newer, "releaseChannel": {"channel": channel}}))
