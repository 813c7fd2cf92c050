"""VM mode: the Deep Learning VM image is pinned (a family release rolls nothing) and rungs roll one at a time."""
from __future__ import annotations

import re

import pytest
from pulumi.runtime import MockCallArgs, MockResourceArgs

from components.plan.gcp_shapes import gcp_version
from components.preview import gcp_invokes
from components.preview.mocks import GpuinfraMocks
from tests.gcp import variants
from tests.gcp.conftest import Recorded

TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
MIG = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"
FAMILY = ("deeplearning-platform-release", "common-cu128-ubuntu-2204-nvidia-570")
NEWER = "common-cu128-ubuntu-2204-nvidia-570-v20261201"


def _boot_images(run: Recorded) -> dict[str, str]:
    return {t.name: next(d["sourceImage"] for d in t.inputs["disks"] if d.get("boot")) for t in run.of_type(TEMPLATE)}


@pytest.fixture(scope="module")
def newer_image_published():
    """The same VM stack after Google published a newer image in the family (images.getFromFamily answers it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(gcp_invokes.IMAGES, FAMILY, [*gcp_invokes.IMAGES[FAMILY], NEWER])
        yield Recorded(variants.vm_mode(), "staging")


def test_a_family_release_changes_no_template_and_is_shown_as_an_update(vm, newer_image_published):
    """Instance templates are immutable: a new boot image means new templates and a proactive replace of every
    VM (Compute Engine "Automatically apply VM configuration updates in a MIG"). A release in the family must change
    no template; the stack output reports it instead, as the EKS AMI pin does."""
    before, after = _boot_images(vm), _boot_images(newer_image_published)
    assert before and after == before, "a family release changed the templates' boot image"
    pinned = gcp_version("dlvm_image")
    assert set(after.values()) == {f"https://www.googleapis.com/compute/v1/projects/{FAMILY[0]}/global/images/{pinned}"}
    assert re.fullmatch(rf"{FAMILY[1]}-v\d{{8}}", pinned)  # a dated image of the pinned family, never the family
    report = newer_image_published.run.outputs["dlvm_image_us_central1"]
    assert report == {"pinned": pinned, "family": FAMILY[1], "latest": NEWER, "update_available": True}
    assert vm.run.outputs["dlvm_image_us_central1"]["update_available"] is False


def _get_image(**inputs):
    mocks = GpuinfraMocks({"gcp:project": "acme", "gcp:region": "us-central1"})
    return mocks.call(MockCallArgs("gcp:compute/getImage:getImage", inputs, ""))[0]


def test_the_image_invoke_answers_like_compute_engine():
    """images.getFromFamily returns the family's newest image; images.get a named one; unknown names are 404."""
    newest = _get_image(family=FAMILY[1], project=FAMILY[0])
    assert newest["name"] == gcp_invokes.IMAGES[FAMILY][-1] and newest["family"] == FAMILY[1]
    named = _get_image(name=gcp_invokes.IMAGES[FAMILY][0], project=FAMILY[0])
    assert named["family"] == FAMILY[1] and named["selfLink"].endswith(f"/global/images/{named['name']}")
    with pytest.raises(LookupError, match="404"):
        _get_image(name=f"{FAMILY[1]}-v19990101", project=FAMILY[0])
    with pytest.raises(LookupError, match="404"):
        _get_image(family="no-such-family", project=FAMILY[0])


def _groups(run: Recorded, pool: str) -> list:
    ladder = run.plan.ladders[pool]
    return [run.one(MIG, f"{pool}-{r.tier}") for r in ladder.rungs]


def test_rungs_roll_one_at_a_time_in_ladder_order(vm):
    """A proactive update used to replace max_unavailable = zones VMs in every group at once: the reserved VM and all
    spot VMs together. Each rung's MIG now depends on the previous rung's MIG, and the floors' updates last until
    every VM runs the new template and is healthy (wait_for_instances_status UPDATED, terraform-provider-google
    v7.45.0 compute_region_instance_group_manager), so the next rung starts only then. Bursts do not wait: spot
    capacity may be absent and the wait would fail the up."""
    for pool in ("l4-vm", "h100-vm"):
        ladder, groups = vm.plan.ladders[pool], _groups(vm, pool)
        assert len(groups) >= 2
        for rung, previous, group in zip(ladder.rungs[1:], groups, groups[1:]):
            assert {"type": MIG, "name": previous.name} in group.options.get("dependsOn", []), group.name
        for rung, group in zip(ladder.rungs, groups):
            waits = not rung.autoscaled
            assert group.inputs.get("waitForInstances", False) is waits, group.name
            if waits:
                assert group.inputs["waitForInstancesStatus"] == "UPDATED"
                timeout = int(group.options["customTimeouts"]["create"].rstrip("s"))
                # The wait covers a VM's autohealing delay; the provider's default of 15 minutes may not.
                assert timeout >= group.inputs["autoHealingPolicies"]["initialDelaySec"] + 600, group.name


def test_the_reserved_rung_replaces_one_vm_at_a_time_or_surges_into_headroom():
    """The reserved rung has no spare reserved VM (count 1, reserved 1): max_surge 0, max_unavailable 1 (its MIG spans
    the reservation's one zone). With headroom in the reservation it surges one VM into it instead and loses no
    capacity (SUBSTITUTE: RECREATE keeps names, so it cannot surge)."""
    tight = Recorded(variants.vm_mode(), "staging").one(MIG, "h100-vm-reserved").inputs["updatePolicy"]
    assert (tight["maxSurgeFixed"], tight["maxUnavailableFixed"], tight["replacementMethod"]) == (0, 1, "RECREATE")
    raw = variants.vm_mode()
    raw["gpuinfra:gcp"]["reservations"][0]["count"] = 2
    roomy = Recorded(raw, "staging").one(MIG, "h100-vm-reserved").inputs["updatePolicy"]
    assert (roomy["maxSurgeFixed"], roomy["maxUnavailableFixed"], roomy["replacementMethod"]) == (1, 0, "SUBSTITUTE")


@pytest.mark.parametrize(("zones", "surge", "unavailable", "method", "ok"), [
    (3, 0, 3, "RECREATE", True),     # one batch of one VM per zone: the smallest a 3-zone group accepts
    (3, 0, 1, "RECREATE", False),    # below the zone count: refused
    (1, 0, 1, "RECREATE", True),     # a one-zone (reserved) group replaces one VM at a time
    (1, 1, 0, "SUBSTITUTE", True),   # surge into headroom
    (1, 1, 0, "RECREATE", False),    # RECREATE needs maxUnavailable > 0
    (3, 0, 0, "SUBSTITUTE", False),  # not both 0
])
def test_the_mig_mock_refuses_update_policies_compute_engine_refuses(zones, surge, unavailable, method, ok):
    mocks = GpuinfraMocks({"gcp:project": "acme", "gcp:region": "us-central1"})
    inputs = {"region": "us-central1", "distributionPolicyZones": [f"us-central1-{s}" for s in "abc"[:zones]],
              "updatePolicy": {"type": "PROACTIVE", "maxSurgeFixed": surge, "maxUnavailableFixed": unavailable,
                               "replacementMethod": method}}
    args = MockResourceArgs(MIG, "g", inputs)
    if ok:
        assert "/regions/us-central1/instanceGroupManagers/" in mocks.new_resource(args)[1]["id"]
    else:
        with pytest.raises(ValueError, match="Error 400"):
            mocks.new_resource(args)
