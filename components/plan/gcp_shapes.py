"""GCP GPU node shapes: accelerators, local SSDs, provisioning model and zones of each ladder rung."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from components.catalog import load_catalog
from components.catalog.versions import versions
from components.plan.basis import PlanBasis
from components.plan.gcp_zones import ZoneChoice, accelerator_zones
from components.plan.ladder import Rung
from components.plan.storage import GCP_LOCAL_SSD_GB, local_ssd_count
from components.spec import StackSpec
from components.spec.capacity import GpuPoolSpec
from components.spec.gcp import GcpReservationSpec

Provisioning = Literal["STANDARD", "SPOT", "FLEX_START"]

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


@dataclass(frozen=True)
class GcpPoolSettings:
    """What a GCP pool's components render besides its ladder: its name, root disk and each rung's provisioning.

    Attributes:
        name: The pool's name (resource names, labels).
        root_volume_gib: Boot disk size of its VMs / nodes.
        provisioning: Rung tier -> Compute Engine provisioning model.
        max_run: Rung tier -> run-duration limit in seconds (FLEX_START only, else None).
    """

    name: str
    root_volume_gib: int
    provisioning: Mapping[str, Provisioning]
    max_run: Mapping[str, int | None]


def pool_settings(pool: GpuPoolSpec, rungs: tuple[Rung, ...]) -> GcpPoolSettings:
    """The pool slice a GKE node pool or a VM group renders, planned from ``pool`` and its ladder's ``rungs``."""
    return GcpPoolSettings(name=pool.name, root_volume_gib=pool.root_volume_gib,
                           provisioning={r.tier: provisioning_model(pool, r) for r in rungs},
                           max_run={r.tier: max_run_seconds(pool, r) for r in rungs})


def zone_choice(basis: PlanBasis, pool: GpuPoolSpec, rung: Rung, region: str, floor: int = 0) -> ZoneChoice:
    """The zone rule of a rung: the reservation's zone for the reserved rung; else ``pool.zones`` when set; else
    the region's zones that offer the pool's accelerator (every UP zone when the table has no row).

    Args:
        basis: The planned stack.
        pool: The pool of the rung.
        rung: The rung.
        region: The pool's region.
        floor: GKE: nodes the rung starts with (spread evenly, :func:`floor_zones`); 0 keeps every zone.
    """
    gcp = basis.spec.gcp
    if rung.reservation and gcp:
        return ZoneChoice(fixed=tuple(r.zone for r in gcp.reservations if r.name == rung.reservation), floor=floor)
    if pool.zones:
        return ZoneChoice(fixed=tuple(pool.zones), floor=floor)
    return ZoneChoice(offered=accelerator_zones(node_shape(basis, pool).accelerator, region), floor=floor)


def rung_zones(basis: PlanBasis, pool: GpuPoolSpec, rung: Rung, region: str, available: list[str]) -> list[str]:
    """Zones a rung's nodes may run in, given the zones ``compute.getZones`` reports UP (see :func:`zone_choice`)."""
    return zone_choice(basis, pool, rung, region).resolve(available)


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


def nodes_per_zone(nodes: int, zones: list[str]) -> int:
    """Nodes per zone that start exactly ``nodes`` across ``zones`` (GKE sizes pools per zone; see floor_zones)."""
    if not zones:
        return nodes
    assert nodes % len(zones) == 0, f"{nodes} nodes do not spread evenly over {zones} (use floor_zones)"
    return nodes // len(zones)
