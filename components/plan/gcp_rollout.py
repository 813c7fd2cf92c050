"""How GCP rungs are replaced and rolled: delete-before-replace for reservations, per-rung MIG update policies."""
from __future__ import annotations

from components.plan.ladder import Rung


def delete_before_replace(rung: Rung) -> bool:
    """Whether a replacement of the rung's node pool or MIG must delete the old one first.

    Pulumi creates a replacement before deleting the original unless ``deleteBeforeReplace`` is set (Pulumi docs,
    "Resource option: deleteBeforeReplace"; the bridge turns it on by itself only for explicitly named resources,
    pulumi/pulumi-terraform#465; our node pools and MIGs are auto-named). A reserved rung's nodes hold every VM of
    its specific reservation, so a new pool created first gets no capacity and the create fails or waits forever.
    GKE replaces a node pool on a driver-version, reservation or local-SSD edit (``ForceNew`` on guest_accelerator,
    reservation_affinity, ephemeral_storage_local_ssd_config in terraform-provider-google v7.45.0
    google/services/container/node_config.go; vendored in tests/upstream/terraform/force_new.json).
    Other rungs keep create-before-delete: on-demand and spot capacity is not pinned to the old nodes, and the old
    ones keep serving until the new ones exist.

    Args:
        rung: A ladder rung.

    Returns:
        True for rungs that consume a specific reservation.
    """
    return rung.reservation is not None
