"""Reserved rungs are deleted before their replacement is created (GKE node pools and VM-mode MIGs)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

FORCE_NEW = json.loads((Path(__file__).resolve().parents[1] / "upstream" / "terraform" / "force_new.json").read_text())
NODE_POOL = "gcp:container/nodePool:NodePool"
MIG = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"


def _tf_name(name: str) -> str:
    """Terraform attribute of a pulumi-gcp input: snake case, list blocks singular (guestAccelerators)."""
    snake = re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
    return snake[:-1] if snake.endswith("s") and snake not in ("oauth_scopes",) else snake


def _replacing_fields(node_config: dict) -> set[str]:
    """The node_config fields a record sets that force a new node pool upstream."""
    forced = set(FORCE_NEW["google_container_node_pool.node_config"])
    return {_tf_name(k) for k, v in node_config.items() if v not in (None, [], {}, False) and _tf_name(k) in forced}


@pytest.mark.parametrize("variant", ["prod", "vm"])
def test_reserved_rungs_delete_before_replace_and_others_do_not(variant, request):
    """terraform-provider-google v7.45.0 (google/services/container/node_config.go; vendored force_new.json)
    marks guest_accelerator (with gpu_driver_installation_config), reservation_affinity and
    ephemeral_storage_local_ssd_config ForceNew: editing the driver version or the local SSDs replaces the pool.
    Pulumi's default replacement creates the new pool first, while the old reserved node still holds the
    reservation (count 1): the new pool gets no capacity. Reserved rungs must be deleted first; the other rungs
    keep create-before-delete, so their old nodes serve until the new ones exist."""
    stack = request.getfixturevalue(variant)
    typ = NODE_POOL if variant == "prod" else MIG
    records = stack.of_type(typ)
    reserved = {f"{ladder.pool}-{r.tier}" for ladder in stack.plan.ladders.values() for r in ladder.rungs if r.reservation}
    assert reserved and reserved <= {r.name for r in records}
    for record in records:
        dbr = record.options.get("deleteBeforeReplace", False)
        assert dbr is (record.name in reserved), (record.name, record.options)
        if typ == NODE_POOL and record.name in reserved:
            # What makes a replacement likely: the reserved pool sets fields that force a new pool.
            assert {"guest_accelerator", "reservation_affinity"} <= _replacing_fields(record.inputs["nodeConfig"])


def test_vendored_force_new_covers_the_regional_mig_zones():
    """A regional MIG's distribution_policy_zones is ForceNew (resource_compute_region_instance_group_manager.go
    v7.45.0): moving the reserved rung's zone replaces its MIG, which is why the MIG path needs it too."""
    assert "distribution_policy_zones" in FORCE_NEW["google_compute_region_instance_group_manager"]
    assert FORCE_NEW["source"]["ref"] == "v7.45.0"
