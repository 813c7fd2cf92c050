"""GCP GPU node shapes: accelerators, local SSDs, provisioning model and zones of each ladder rung."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from components.catalog import load_catalog
from components.catalog.versions import versions
from components.plan.basis import PlanBasis
from components.plan.ladder import Rung
from components.plan.storage import GCP_LOCAL_SSD_GB, local_ssd_count
from components.spec import StackSpec
from components.spec.capacity import GpuPoolSpec
from components.spec.gcp import GcpReservationSpec

Provisioning = Literal["STANDARD", "SPOT", "FLEX_START"]

#: Zones offering each accelerator, per region, from the Compute Engine "GPU regions and zones" page
#: (cloud.google.com/compute/docs/gpus/gpu-regions-zones, read 2026-11-23). Pairs not listed fall back to
#: every zone ``compute.getZones`` returns; ``gpu_pools[].zones`` overrides both. Verify with
#: ``gcloud compute accelerator-types list --filter="name=<accelerator>"`` before buying reservations.
ACCELERATOR_ZONES: dict[str, dict[str, tuple[str, ...]]] = {
    "nvidia-l4": {"us-central1": ("a", "b", "c"), "us-east4": ("a", "c"), "us-east1": ("b", "c", "d"),
                  "europe-west4": ("a", "b", "c")},
    "nvidia-h100-80gb": {"us-central1": ("a", "b", "c"), "us-east4": ("a", "b", "c"), "europe-west4": ("b", "c")},
    "nvidia-a100-80gb": {"us-central1": ("a", "c"), "us-east4": ("c",), "europe-west4": ("a",)},
    "nvidia-tesla-a100": {"us-central1": ("a", "b", "c", "f"), "europe-west4": ("a", "b")},
}


@dataclass(frozen=True)
class GcpShape:
    """What one GPU VM or GKE node of a pool asks Compute Engine for (a reservation must match it)."""

    machine_type: str
    accelerator: str
    gpu_count: int
    local_ssd_count: int
    bundled_ssd: bool
    #: "GVNIC" when the machine series requires the gVNIC driver (catalog ``gvnic_required``), else None
    #: (Compute Engine's default VirtIO-Net).
    nic_type: str | None = None

    @property
    def local_ssd_gb(self) -> int:
        """Local SSD per node in GB (375 GB disks)."""
        return self.local_ssd_count * GCP_LOCAL_SSD_GB


def node_shape(basis: PlanBasis, pool: GpuPoolSpec, machine_type: str | None = None) -> GcpShape:
    """Shape of a node of ``pool`` (its first machine type unless ``machine_type`` is given).

    The local SSD count is the machine's bundled count (A3 High: 16, A2 Ultra: 8), else enough optional
    375 GB disks for the largest model's weight cache (``storage.local_ssd_count``).
    """
    inst = load_catalog().instance("gcp", machine_type or pool.instance_types[0])
    assert inst is not None and inst.accelerator, "spec checks refuse unknown GCP machine types"
    return GcpShape(machine_type=inst.name, accelerator=inst.accelerator, gpu_count=inst.gpu_count,
                    local_ssd_count=local_ssd_count(inst, basis.pool_weights_gib(pool.name)),
                    bundled_ssd=inst.local_nvme_mode == "bundled", nic_type=_nic_type(inst))


def _nic_type(inst) -> str | None:
    """The vNIC type a machine type needs: gVNIC for the series that boot only with it (catalog data)."""
    return "GVNIC" if inst.gvnic_required else None


def consumers(spec: StackSpec, reservation: str) -> list[GpuPoolSpec]:
    """GCP pools whose reserved rung consumes ``reservation``."""
    pools = spec.gcp.gpu_pools if spec.gcp else []
    return [p for p in pools if p.capacity.reservation == reservation and p.capacity.reserved]


def reservation_shape(basis: PlanBasis, reservation: GcpReservationSpec) -> GcpShape:
    """Shape a specific reservation reserves: the consumer's node shape, with an explicit SSD count if set."""
    users = consumers(basis.spec, reservation.name)
    if users:
        shape = node_shape(basis, users[0], reservation.machine_type)
    else:
        inst = load_catalog().instance("gcp", reservation.machine_type)
        assert inst is not None and inst.accelerator
        count = inst.local_nvme_disks if inst.local_nvme_mode == "bundled" else 0
        shape = GcpShape(inst.name, inst.accelerator, inst.gpu_count, count, inst.local_nvme_mode == "bundled",
                         _nic_type(inst))
    if reservation.local_ssd_count is None:
        return shape
    return GcpShape(shape.machine_type, shape.accelerator, shape.gpu_count, reservation.local_ssd_count,
                    shape.bundled_ssd, shape.nic_type)


def provisioning_model(pool: GpuPoolSpec, rung: Rung) -> Provisioning:
    """Compute Engine provisioning model of a rung: the burst is SPOT (or FLEX_START), the rest STANDARD."""
    if rung.tier == "spot":
        return "FLEX_START" if pool.flex_start else "SPOT"
    return "STANDARD"


def max_run_seconds(pool: GpuPoolSpec, rung: Rung) -> int | None:
    """FLEX_START VMs/nodes end after ``max_run_duration_hours`` (GCP caps flex-start at 7 days)."""
    if provisioning_model(pool, rung) != "FLEX_START":
        return None
    return (pool.max_run_duration_hours or 168) * 3600


def rung_zones(basis: PlanBasis, pool: GpuPoolSpec, rung: Rung, region: str, available: list[str]) -> list[str]:
    """Zones a rung's nodes may run in.

    Args:
        basis: The planned stack.
        pool: The pool of the rung.
        rung: The rung.
        region: The pool's region.
        available: Zones ``compute.getZones`` reports UP for the region.

    Returns:
        The reservation's zone for the reserved rung; else ``pool.zones`` when set; else the zones of
        ``available`` that offer the pool's accelerator (every available zone when the table has no row).
    """
    gcp = basis.spec.gcp
    if rung.reservation and gcp:
        return [r.zone for r in gcp.reservations if r.name == rung.reservation]
    if pool.zones:
        return list(pool.zones)
    suffixes = ACCELERATOR_ZONES.get(node_shape(basis, pool).accelerator, {}).get(region)
    if suffixes is None:
        return sorted(available)
    offered = {f"{region}-{s}" for s in suffixes}
    return sorted(z for z in available if z in offered) or sorted(offered)


def service_account_id(*parts: str) -> str:
    """A GCP service account id (6-30 of ``[a-z0-9-]``, letter first) from ``parts``, hashed when too long."""
    base = re.sub(r"[^a-z0-9-]", "-", "-".join(parts).lower()).strip("-")
    if len(base) <= 30:
        return base if len(base) >= 6 else f"{base}-sa-gpu"[:30]
    digest = hashlib.sha256(base.encode()).hexdigest()[:6]
    return f"{base[:23].rstrip('-')}-{digest}"


def gcp_version(key: str) -> str:
    """A pinned GCP version value from the ``gcp`` section of versions.yaml (e.g. ``gke_kubernetes``)."""
    return str(versions()["gcp"][key])


def kubernetes_minor(version: str) -> tuple[int, int]:
    """(major, minor) of ``1.35`` or ``1.35.7-gke.1222000``."""
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def gke_channel_minors(channel: str) -> tuple[str, str]:
    """The oldest and newest Kubernetes minor GKE's ``channel`` offers for new clusters (versions.yaml)."""
    lo, hi = versions()["gcp"]["gke_channels"][channel]["minors"]
    return str(lo), str(hi)


def gke_channel_offers(channel: str, version: str) -> bool:
    """Whether ``channel`` offers the Kubernetes minor of ``version`` (e.g. ``1.35`` or ``1.35.7-gke.1222000``)."""
    lo, hi = gke_channel_minors(channel)
    return kubernetes_minor(lo) <= kubernetes_minor(version) <= kubernetes_minor(hi)


def gke_default_version(channel: str) -> str:
    """The patch version GKE creates a cluster at on ``channel`` when no newer minimum is asked for."""
    return str(versions()["gcp"]["gke_channels"][channel]["default"])


def floor_zones(zones: list[str], nodes: int) -> list[str]:
    """The zones a GKE rung with a floor of ``nodes`` may use so that the floor starts exactly ``nodes`` nodes.

    GKE's ``initial_node_count`` counts nodes *per zone* of ``node_locations`` (terraform-provider-google,
    website/docs/r/container_node_pool.html.markdown: "In regional or multi-zonal clusters, this is the number of
    nodes per zone"), so a floor of 1 over 3 zones would start 3 GPU nodes. A floor keeps the most zones that divide
    it evenly (1 -> 1 zone, 2 -> 2, 3 -> 3, 4 over 3 zones -> 2); a rung without a floor keeps every zone."""
    if nodes <= 0 or not zones:
        return list(zones)
    spread = max(k for k in range(1, len(zones) + 1) if nodes % k == 0)
    return list(zones[:spread])


def nodes_per_zone(nodes: int, zones: list[str]) -> int:
    """Nodes per zone that start exactly ``nodes`` across ``zones`` (GKE sizes pools per zone; see floor_zones)."""
    if not zones:
        return nodes
    assert nodes % len(zones) == 0, f"{nodes} nodes do not spread evenly over {zones} (use floor_zones)"
    return nodes // len(zones)
