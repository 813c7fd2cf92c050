"""How GCP rungs are replaced and rolled: delete-before-replace for reservations, per-rung MIG update policies."""
from __future__ import annotations

import math
from dataclasses import dataclass

from components.plan.gcp_shapes import consumers, gcp_version
from components.plan.ladder import Rung
from components.spec import StackSpec


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


@dataclass(frozen=True)
class GcpImagePin:
    """The dated Deep Learning VM image VM-mode templates boot, and the family watched for newer ones."""

    project: str
    family: str
    name: str

    @property
    def self_link(self) -> str:
        """``projects/<p>/global/images/<name>``: the boot disk's ``source_image`` (never the family)."""
        return f"projects/{self.project}/global/images/{self.name}"


def vm_image_pin() -> GcpImagePin:
    """The pinned image (versions.yaml ``gcp.dlvm_image``): a family lookup at deploy time would roll every VM
    whenever Google publishes an image, so the family only feeds the "update available" report."""
    return GcpImagePin(project=gcp_version("dlvm_image_project"), family=gcp_version("dlvm_image_family"),
                       name=gcp_version("dlvm_image"))


@dataclass(frozen=True)
class MigRollout:
    """How one rung's regional MIG rolls to a new template, and whether ``pulumi up`` waits for it.

    Attributes:
        max_surge / max_unavailable: Fixed VM counts (a regional MIG takes 0 or at least its zone count).
        replacement_method: RECREATE (keep names, no surge) or SUBSTITUTE (surge VMs get new names).
        wait: Wait until every VM runs the new template and passes autohealing (``UPDATED``) before the next
            rung's MIG is touched; bursts do not (spot capacity may be absent and the wait would fail the up).
        timeout_seconds: How long that wait may take (batches x the autohealing delay, plus margin).
    """

    max_surge: int
    max_unavailable: int
    replacement_method: str
    wait: bool
    timeout_seconds: int


#: Pulumi's default for a RegionInstanceGroupManager create/update (terraform-provider-google v7.45.0
#: resource_compute_region_instance_group_manager.go Timeouts: 15 minutes), the floor of our wait budget.
MIG_DEFAULT_TIMEOUT_SECONDS = 15 * 60
#: Per batch: a VM's delete, create and first boot steps before the autohealing delay starts counting.
ROLLOUT_BATCH_MARGIN_SECONDS = 600


def mig_rollout(rung: Rung, zones: int, headroom: int, initial_delay_seconds: int) -> MigRollout:
    """The update policy of one rung's regional MIG.

    Compute Engine takes fixed ``maxSurge``/``maxUnavailable`` of a regional MIG only as 0 or at least the number
    of zones it spans, and not both 0 (pulumi-gcp RegionInstanceGroupManager ``update_policy`` docs;
    "Automatically apply VM configuration updates in a MIG", cloud.google.com/compute/docs/instance-groups/
    rolling-out-updates-to-managed-instance-groups); RECREATE needs ``maxUnavailable`` > 0
    (terraform-provider-google v7.45.0 website/docs/r/compute_region_instance_group_manager.html.markdown).

    Args:
        rung: The ladder rung.
        zones: Zones the rung's MIG spans (one for a reserved rung: the reservation's zone).
        headroom: Reserved VMs no rung consumes (reservation count minus reserved nodes of every consumer).
        initial_delay_seconds: The MIG's autohealing delay (a new VM is verified only after it).

    Returns:
        The reserved rung surges one VM into spare reservation capacity when there is some, else replaces one
        VM at a time (max_surge 0, max_unavailable 1); other rungs replace at most one VM per zone at a time
        (the smallest batch a regional MIG accepts) without surge (a surge VM needs GPU quota or capacity).
    """
    if rung.reservation and headroom >= 1 and zones == 1:
        surge, unavailable, method = 1, 0, "SUBSTITUTE"
    else:
        surge, unavailable, method = 0, (1 if rung.reservation else zones), "RECREATE"
    batches = max(1, math.ceil(rung.min_nodes / max(surge, unavailable)))
    budget = batches * (initial_delay_seconds + ROLLOUT_BATCH_MARGIN_SECONDS)
    return MigRollout(max_surge=surge, max_unavailable=unavailable, replacement_method=method,
                      wait=not rung.autoscaled, timeout_seconds=max(MIG_DEFAULT_TIMEOUT_SECONDS, budget))


def reservation_headroom(spec: StackSpec) -> dict[str, int]:
    """Reservation name -> VMs it holds beyond the reserved nodes of every pool consuming it."""
    reservations = spec.gcp.reservations if spec.gcp else []
    return {r.name: r.count - sum(p.capacity.reserved for p in consumers(spec, r.name)) for r in reservations}
