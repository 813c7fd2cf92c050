"""The pinned GKE minor against the release channel (GKE release notes' "Current versions" table in versions.yaml):
GKE refuses a cluster whose minimum master version its channel does not offer, so the plan refuses it first."""
from __future__ import annotations

import pytest

from components.plan import checks
from components.plan.gcp_shapes import gcp_version, gke_channel_offers
from components.plan.stack import plan_stack
from components.spec import ConfigError, load_stack_spec
from tests.conftest import encode, raw_stack
from tests.gcp import variants


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_committed_stacks_pin_a_minor_their_channel_offers(stack):
    gke = load_stack_spec(*encode(raw_stack(stack))).gcp.gke
    assert gke_channel_offers(gke.release_channel, gcp_version("gke_kubernetes"))


def test_a_channel_without_the_pinned_minor_is_refused_with_its_key(monkeypatch):
    raw = variants.gcp_only("staging")
    raw["gpuinfra:gcp"].setdefault("gke", {})["release_channel"] = "STABLE"
    plan_stack(load_stack_spec(*encode(raw)))  # 1.35 is on Stable
    monkeypatch.setattr(checks, "gcp_version", lambda key: "1.37")  # Rapid only, per the table
    with pytest.raises(ConfigError) as err:
        plan_stack(load_stack_spec(*encode(raw)))
    assert err.value.path == "gpuinfra:gcp.gke.release_channel"
    assert "'STABLE' offers GKE" in err.value.message and "RAPID" in err.value.message
