"""Zones of GCP ladder rungs: planned as a rule that the deploy-time list of UP zones completes."""
from __future__ import annotations

from dataclasses import dataclass

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
class ZoneChoice:
    """The zones one rung may use, decided at plan time except for the region's UP zones (``compute.getZones``,
    only known when the program runs).

    Attributes:
        fixed: The reservation's zone (reserved rung) or ``gpu_pools[].zones``; None: derive from the region.
        offered: Zones of the region offering the accelerator (:data:`ACCELERATOR_ZONES`); None: every UP zone.
        floor: GKE only: the rung's floor, spread evenly (:func:`floor_zones`); 0 keeps every zone.
    """

    fixed: tuple[str, ...] | None = None
    offered: tuple[str, ...] | None = None
    floor: int = 0

    def resolve(self, available: list[str]) -> list[str]:
        """The rung's zones given the zones ``compute.getZones`` reports UP (an offered zone not UP is dropped;
        when none is UP the offered zones stand, so the API names the missing capacity)."""
        if self.fixed is not None:
            zones = list(self.fixed)
        elif self.offered is None:
            zones = sorted(available)
        else:
            zones = sorted(z for z in available if z in self.offered) or sorted(self.offered)
        return floor_zones(zones, self.floor)


def accelerator_zones(accelerator: str, region: str) -> tuple[str, ...] | None:
    """Zones of ``region`` that offer ``accelerator`` (None when the table has no row for the pair)."""
    suffixes = ACCELERATOR_ZONES.get(accelerator, {}).get(region)
    return None if suffixes is None else tuple(f"{region}-{s}" for s in suffixes)


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
