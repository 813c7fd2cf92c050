"""GCP capacity facts for GPU machine types: zones offering the accelerator and machine type, GPU quotas."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Quota metric per accelerator type (on-demand; spot/preemptible adds the PREEMPTIBLE_ prefix).
#: Source: Compute Engine "GPU quota" docs, regional quota metrics (e.g. NVIDIA_L4_GPUS,
#: PREEMPTIBLE_NVIDIA_L4_GPUS, NVIDIA_H100_GPUS), not re-read (2026-08).
GPU_QUOTA_METRICS = {
    "nvidia-l4": "NVIDIA_L4_GPUS", "nvidia-tesla-a100": "NVIDIA_A100_GPUS",
    "nvidia-a100-80gb": "NVIDIA_A100_80GB_GPUS", "nvidia-h100-80gb": "NVIDIA_H100_GPUS",
    "nvidia-h200-141gb": "NVIDIA_H200_GPUS", "nvidia-b200": "NVIDIA_B200_GPUS",
}
ALL_REGIONS_METRIC = "GPUS_ALL_REGIONS"


@dataclass(frozen=True)
class GpuQuota:
    """A GPU quota (regional metric or the project-wide GPUS_ALL_REGIONS) against the pool's need."""

    scope: str
    metric: str
    limit: float | None
    usage: float
    needed: int

    @property
    def headroom(self) -> float | None:
        """limit - usage - needed GPUs (None when the metric is absent)."""
        return None if self.limit is None else self.limit - self.usage - self.needed

    @property
    def ok(self) -> bool:
        """True when the quota covers the need."""
        return self.headroom is not None and self.headroom >= 0


def quota_metric(accelerator: str, purchase: str) -> str:
    """Returns the regional quota metric of an accelerator for "on-demand" or "spot"."""
    base = GPU_QUOTA_METRICS.get(accelerator) or accelerator.upper().replace("-", "_") + "_GPUS"
    return f"PREEMPTIBLE_{base}" if purchase == "spot" else base


def _name_filter(names: Iterable[str]) -> str:
    return " OR ".join(f'(name = "{n}")' for n in sorted(set(names)))


def _zone_of(scope: str) -> str | None:
    return scope.split("/", 1)[1] if scope.startswith("zones/") else None


def accelerator_zones(client: Any, project: str, accelerator: str, **call: Any) -> list[str]:
    """Returns the zones offering an accelerator type (acceleratorTypes.aggregatedList, all pages).

    ``call`` (retry, timeout) is passed to every API call (clients.RetryBudget.google_call)."""
    zones = set()
    for scope, scoped in client.aggregated_list(request={"project": project, "filter": _name_filter([accelerator])},
                                                **call):
        zone = _zone_of(scope)
        if zone and any(a.name == accelerator for a in scoped.accelerator_types):
            zones.add(zone)
    return sorted(zones)


def machine_type_zones(client: Any, project: str, machine_types: Iterable[str], **call: Any) -> dict[str, list[str]]:
    """Returns zone -> machine types (of those asked) it offers (machineTypes.aggregatedList, all pages)."""
    wanted = set(machine_types)
    zones: dict[str, set[str]] = {}
    for scope, scoped in client.aggregated_list(request={"project": project, "filter": _name_filter(wanted)}, **call):
        zone = _zone_of(scope)
        for machine in scoped.machine_types if zone else ():
            if machine.name in wanted:
                zones.setdefault(zone, set()).add(machine.name)
    return {zone: sorted(names) for zone, names in sorted(zones.items())}


def _quota_map(quotas: Iterable[Any]) -> dict[str, tuple[float, float]]:
    return {q.metric: (float(q.limit), float(q.usage)) for q in quotas}


def gpu_quotas(regions: Any, projects: Any, project: str, region: str, accelerator: str,
               needs: Mapping[str, int], **call: Any) -> list[GpuQuota]:
    """Reads the region's GPU quotas (regions.get) and GPUS_ALL_REGIONS (projects.get) against needs.

    Args:
        needs: purchase ("on-demand"|"spot") -> GPUs needed at maximum scale.
    """
    regional = _quota_map(regions.get(project=project, region=region, **call).quotas)
    checks = []
    for purchase, needed in sorted(needs.items()):
        metric = quota_metric(accelerator, purchase)
        limit, usage = regional.get(metric, (None, 0.0))
        checks.append(GpuQuota(scope=region, metric=metric, limit=limit, usage=usage, needed=needed))
    global_limit, global_usage = _quota_map(projects.get(project=project, **call).quotas).get(ALL_REGIONS_METRIC, (None, 0.0))
    checks.append(GpuQuota(scope="global", metric=ALL_REGIONS_METRIC, limit=global_limit, usage=global_usage,
                           needed=sum(needs.values())))
    return checks
