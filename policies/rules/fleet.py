"""GPU capacity read back from resources: per-rung node bounds, purchase type, instance types, region, pool."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.catalog import load_catalog
from components.plan.scheduling import GCE_LABEL_POOL, GCE_LABEL_TIER, LABEL_POOL, LABEL_TIER
from policies.rules.view import ResourceView, dig
from components.catalog.vocab import Cloud

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ASG = "aws:autoscaling/group:Group"
NODE_POOL = "gcp:container/nodePool:NodePool"
MIG = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"
ZONAL_MIG = "gcp:compute/instanceGroupManager:InstanceGroupManager"
AUTOSCALERS = ("gcp:compute/regionAutoscaler:RegionAutoscaler", "gcp:compute/autoscaler:Autoscaler")
TEMPLATES = ("gcp:compute/instanceTemplate:InstanceTemplate", "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate")
ODCR = "aws:ec2/capacityReservation:CapacityReservation"
CAPACITY_BLOCK = "aws:ec2/capacityBlockReservation:CapacityBlockReservation"
GCP_RESERVATION = "gcp:compute/reservation:Reservation"


@dataclass(frozen=True)
class Capacity:
    """Nodes one resource can run, and how they are bought.

    Attributes:
        view: The resource (node group, ASG, node pool, MIG).
        cloud / region: Where the nodes run.
        pool: The GPU pool (node label ``gpuinfra.dev/pool``, else the rung name's prefix), None if unknown.
        tier: Capacity tier (label, else rung-name suffix); ``on-demand-fallback`` shares the spot maximum.
        purchase: reserved | capacity-block | on-demand | spot (components.plan.ladder.Purchase).
        instance_types: Types the nodes may use, primary first.
        min_nodes / max_nodes: Bounds; ``max_nodes`` None when the resource sets no maximum.
        local_ssds: Billed local SSDs per node (GCP optional SSDs).
        flex_start: GCP flex-start (Dynamic Workload Scheduler) capacity: a burst model like spot, priced here at
            on-demand (the upper bound; flex-start is discounted).
    """

    view: ResourceView
    cloud: Cloud
    region: str
    pool: str | None
    tier: str | None
    purchase: str
    instance_types: tuple[str, ...]
    min_nodes: int
    max_nodes: int | None
    local_ssds: int = 0
    flex_start: bool = False

    @property
    def gpu(self) -> bool:
        """True when the catalog knows the primary type (the catalog lists GPU types only)."""
        return bool(self.instance_types) and load_catalog().instance(self.cloud, self.instance_types[0]) is not None

    @property
    def autoscaled(self) -> bool:
        """True when the node count may move between bounds."""
        return self.max_nodes is None or self.min_nodes != self.max_nodes


def cloud_of(view: ResourceView) -> str:
    """``aws`` or ``gcp`` from the type token (``kubernetes`` and others pass through)."""
    return view.type.split(":", 1)[0]


def region_of(view: ResourceView, settings: Mapping[str, Any]) -> str:
    """The resource's own region, else its provider's, else the stack's default region for that cloud."""
    cloud = cloud_of(view)
    own = view.get("region") or (_zone_region(view.get("location")) if cloud == "gcp" else None)
    if not own and cloud == "gcp" and view.get("zone"):
        own = _zone_region(view.get("zone"))
    return str(own or view.provider.get("region") or settings.get(f"{cloud}_region") or "")


def _zone_region(location: Any) -> str | None:
    """us-central1-a -> us-central1; a region stays itself."""
    if not isinstance(location, str) or not location:
        return None
    parts = location.split("-")
    return "-".join(parts[:-1]) if len(parts) == 3 and len(parts[-1]) == 1 else location


def _int(value: Any, default: int | None = 0) -> int | None:
    """Numbers arrive as floats on the wire; anything else (missing, unknown) is ``default``."""
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _pool_tier(labels: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """Pool and tier from the recorded labels (or ASG tags) the planning core assigns: the Kubernetes node-label
    keys, or their Compute Engine spelling. Never from resource names: a renamed or foreign resource is unknown."""
    pool = labels.get(LABEL_POOL) or labels.get(GCE_LABEL_POOL)
    tier = labels.get(LABEL_TIER) or labels.get(GCE_LABEL_TIER)
    return (str(pool) if pool else None), (str(tier) if tier else None)


def _template_types(pool: str | None, tier: str | None, views: list[ResourceView]) -> tuple[str, ...]:
    """The type a node group's launch template names (a capacity-block group names none itself, as EKS requires),
    found by the template's ``Pool`` / ``CapacityTier`` tags, never by resource names."""
    if not pool or not tier:
        return ()
    for v in views:
        tags = v.get("tags", default={}) if v.type == "aws:ec2/launchTemplate:LaunchTemplate" else {}
        if isinstance(tags, Mapping) and tags.get("Pool") == pool and tags.get("CapacityTier") == tier:
            found = v.get("instanceType")
            return (found,) if isinstance(found, str) and found else ()
    return ()


def _node_group(view: ResourceView, s: Mapping[str, Any], views: list[ResourceView]) -> list[Capacity]:
    pool, tier = _pool_tier(view.get("labels", default={}))
    kind = view.get("capacityType", default="ON_DEMAND")
    purchase = {"SPOT": "spot", "CAPACITY_BLOCK": "capacity-block"}.get(kind, "reserved" if tier == "reserved" else "on-demand")
    types = tuple(view.get("instanceTypes", default=[]) or ()) or _template_types(pool, tier, views)
    return [Capacity(view, "aws", region_of(view, s), pool, tier, purchase, types,
                     _int(view.get("scalingConfig", "minSize")), _int(view.get("scalingConfig", "maxSize"), None))]


def _asg(view: ResourceView, s: Mapping[str, Any], views: list[ResourceView]) -> list[Capacity]:
    """A VM-mode fleet: the on-demand base (reserved + on-demand floor) and the spot share above it."""
    mixed = view.get("mixedInstancesPolicy", default={})
    types = tuple(o["instanceType"] for o in dig(mixed, "launchTemplate", "overrides", default=[]) if o.get("instanceType"))
    if not types:
        types = tuple(t for v in _siblings(view, views, ("aws:ec2/launchTemplate:LaunchTemplate",))
                      if (t := v.get("instanceType")))[:1]
    lo, hi = _int(view.get("minSize")), _int(view.get("maxSize"), None)
    tags = {t.get("key"): t.get("value") for t in view.get("tags", default=[]) if isinstance(t, Mapping)}
    pool = _pool_tier(tags)[0]
    dist = dig(mixed, "instancesDistribution", default={})
    if not mixed or hi is None:
        return [Capacity(view, "aws", region_of(view, s), pool, "on-demand", "on-demand", types, lo, hi)]
    base = min(_int(dist.get("onDemandBaseCapacity")), hi)
    od_pct = _int(dist.get("onDemandPercentageAboveBaseCapacity"), 100)
    spot = (hi - base) * (100 - od_pct) // 100
    rows = [Capacity(view, "aws", region_of(view, s), pool, "on-demand", "on-demand", types[:1], base, base)]
    if hi - base - spot:
        rows.append(Capacity(view, "aws", region_of(view, s), pool, "on-demand", "on-demand", types, 0, hi - base - spot))
    if spot:
        rows.append(Capacity(view, "aws", region_of(view, s), pool, "spot", "spot", types, 0, spot))
    return rows


def _node_pool(view: ResourceView, s: Mapping[str, Any]) -> list[Capacity]:
    cfg = view.get("nodeConfig", default={})
    pool, tier = _pool_tier(cfg.get("labels") or {})
    zones = max(1, len(view.get("nodeLocations", default=[])))
    auto = view.get("autoscaling")
    if auto:
        lo = _int(auto.get("totalMinNodeCount"), None)
        lo = lo if lo is not None else _int(auto.get("minNodeCount")) * zones
        hi = _int(auto.get("totalMaxNodeCount"), None)
        per_zone = _int(auto.get("maxNodeCount"), None)
        hi = hi if hi is not None else (per_zone * zones if per_zone is not None else None)
    else:
        lo = hi = _int(view.get("nodeCount"), _int(view.get("initialNodeCount"), 1)) * zones
    affinity = dig(cfg, "reservationAffinity", "consumeReservationType", default="")
    purchase = "spot" if cfg.get("spot") or cfg.get("preemptible") else "reserved" if "SPECIFIC" in affinity else "on-demand"
    ssds = _int(dig(cfg, "localNvmeSsdBlockConfig", "localSsdCount")) or _int(dig(cfg, "ephemeralStorageLocalSsdConfig", "localSsdCount"))
    machine = cfg.get("machineType")
    return [Capacity(view, "gcp", region_of(view, s), pool, tier, purchase, (machine,) if machine else (), lo, hi, ssds,
                     flex_start=cfg.get("flexStart") is True)]


def _siblings(view: ResourceView, views: list[ResourceView], types: tuple[str, ...]) -> list[ResourceView]:
    """Resources of ``types`` under the same parent component (templates and autoscalers of one MIG)."""
    return [v for v in views if v.type in types and v.parent == view.parent and view.parent is not None]


def _linked(view: ResourceView, views: list[ResourceView], types: tuple[str, ...]) -> ResourceView | None:
    """The sibling of ``types`` whose name shares the longest prefix with ``view``'s (one per MIG)."""
    return max(_siblings(view, views, types), key=lambda v: len(os.path.commonprefix([v.name, view.name])), default=None)


def _template_of(view: ResourceView, views: list[ResourceView]) -> ResourceView | None:
    """The instance template a MIG runs: the one its ``versions[].instanceTemplate`` self-link names (the link ends
    in the template's physical name: its ``name``, or the logical name plus Pulumi's 7-hex auto-name suffix). While
    the link is unknown (a first preview), the template of the template component named like the MIG under the same
    parent (``GpuInstanceGroup`` -> ``GpuInstanceTemplate`` -> template: one level below the MIG's siblings), else a
    sibling template."""
    templates = [v for v in views if v.type in TEMPLATES]
    for version in view.get("versions", default=[]) or []:
        link = version.get("instanceTemplate") if isinstance(version, Mapping) else None
        if not isinstance(link, str) or "/" not in link:
            continue
        physical = link.rsplit("/", 1)[-1]
        for t in templates:
            if physical == t.get("name") or (physical.startswith(f"{t.name}-") and len(physical) == len(t.name) + 8):
                return t
    components = {(v.type, v.name) for v in views if v.parent == view.parent and v.parent is not None
                  and v.type.startswith("gpuinfra:")}
    nested = [t for t in templates if t.parent in components]
    same = [t for t in nested if t.parent is not None and t.parent[1] == view.name]
    if len(same) == 1:
        return same[0]
    return _linked(view, views, TEMPLATES)


def _mig(view: ResourceView, s: Mapping[str, Any], views: list[ResourceView]) -> list[Capacity]:
    template = _template_of(view, views)
    scaler = _linked(view, views, AUTOSCALERS)
    pool, tier = _pool_tier(template.get("labels", default={}) if template else {})
    if scaler is not None:
        lo = _int(scaler.get("autoscalingPolicy", "minReplicas"))
        hi = _int(scaler.get("autoscalingPolicy", "maxReplicas"), None)
    else:
        lo = hi = _int(view.get("targetSize"))
    sched = template.get("scheduling", default={}) if template else {}
    spot = sched.get("provisioningModel") == "SPOT" or bool(sched.get("preemptible"))
    reserved = template is not None and "SPECIFIC" in str(template.get("reservationAffinity", "type", default=""))
    purchase = "spot" if spot else "reserved" if reserved else "on-demand"
    flex = sched.get("provisioningModel") == "FLEX_START"
    machine = template.get("machineType") if template else None
    ssds = sum(1 for d in (template.get("disks", default=[]) if template else []) if d.get("type") == "SCRATCH")
    return [Capacity(view, "gcp", region_of(view, s), pool, tier, purchase, (machine,) if machine else (), lo, hi, ssds,
                     flex_start=flex)]


def capacity(views: list[ResourceView], settings: Mapping[str, Any]) -> list[Capacity]:
    """Every node-bearing resource's capacity (GPU and system), in resource order."""
    out: list[Capacity] = []
    for v in views:
        if v.type == NODE_GROUP:
            out += _node_group(v, settings, views)
        elif v.type == ASG:
            out += _asg(v, settings, views)
        elif v.type == NODE_POOL:
            out += _node_pool(v, settings)
        elif v.type in (MIG, ZONAL_MIG):
            out += _mig(v, settings, views)
    return out


def gpu_capacity(views: list[ResourceView], settings: Mapping[str, Any]) -> list[Capacity]:
    """Capacity whose instance types are catalog GPU types."""
    return [c for c in capacity(views, settings) if c.gpu]
