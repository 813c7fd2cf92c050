"""Capacity guardrails: GPU allow-list, spot outside prod, bounded autoscaling, reservations, idle shutdown."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from components.catalog import load_catalog
from policies.rules.base import Finding, Rule, prop
from policies.rules.fleet import CAPACITY_BLOCK, ODCR, Capacity, cloud_of, gpu_capacity, region_of
from policies.rules.view import ResourceView, dig

WATCHDOG_COMPONENT = "gpuinfra:aws:IdleWatchdog"
COMPUTE_CLASS = "kubernetes:cloud.google.com/v1:ComputeClass"
LAMBDA = "aws:lambda/function:Function"


def instance_types(view: ResourceView) -> list[str]:
    """Instance or machine types a resource names (node groups, ASGs, templates, pools, reservations)."""
    props = view.props
    found = list(dig(props, "instanceTypes", default=[]))
    found += [o.get("instanceType") for o in dig(props, "mixedInstancesPolicy", "launchTemplate", "overrides", default=[])]
    for path in (("instanceType",), ("machineType",), ("nodeConfig", "machineType"),
                 ("specificReservation", "instanceProperties", "machineType")):
        found.append(dig(props, *path))
    return [t for t in found if isinstance(t, str) and t]


def _accelerators(view: ResourceView) -> list[str]:
    """GCP accelerator type names (``nvidia-l4``) a template, node pool or reservation attaches."""
    rows = (dig(view.props, "guestAccelerators", default=[]) + dig(view.props, "nodeConfig", "guestAccelerators", default=[])
            + dig(view.props, "specificReservation", "instanceProperties", "guestAccelerators", default=[]))
    return [str(r.get("type") or r.get("acceleratorType")).rsplit("/", 1)[-1] for r in rows
            if r.get("type") or r.get("acceleratorType")]


def check_allowed_gpus(view: ResourceView, s: Mapping[str, Any]) -> Iterator[str]:
    """Every catalog GPU type (and GCP accelerator) the resource names is on the environment's allow-list."""
    allowed = list(s.get("allowed_gpus") or [])
    if not allowed or cloud_of(view) not in ("aws", "gcp"):
        return
    catalog = load_catalog()
    by_accelerator = {g.gcp_accelerator: g.name for g in catalog.gpus.values() if g.gcp_accelerator}
    gpus = {t: inst.gpu.name for t in instance_types(view) if (inst := catalog.instance(cloud_of(view), t))}
    gpus.update({a: by_accelerator.get(a, f"unknown accelerator {a}") for a in _accelerators(view)})
    for name, gpu in sorted(gpus.items()):
        if gpu not in allowed:
            yield f"{name} uses {gpu}, not in the allowed GPUs {allowed}"


def _pools(views: list[ResourceView], s: Mapping[str, Any]) -> dict[tuple[str, str], list[Capacity]]:
    pools: dict[tuple[str, str], list[Capacity]] = {}
    for c in gpu_capacity(views, s):
        pools.setdefault((c.cloud, c.pool or c.view.name), []).append(c)
    return pools


def check_spot(views: list[ResourceView], s: Mapping[str, Any]) -> Iterator[Finding]:
    """Outside prod a GPU pool's autoscaled capacity includes spot or GCP flex-start (the burst is never on-demand
    only; flex-start is a burst model too: preemptible-like, time-boxed, discounted)."""
    for (cloud, pool), rungs in _pools(views, s).items():
        burst = [c for c in rungs if c.autoscaled]
        if burst and not any(c.purchase == "spot" or c.flex_start for c in burst):
            names = ", ".join(sorted({c.view.name for c in burst}))
            yield Finding(burst[0].view.label, f"GPU pool {pool} ({cloud}) scales {names} without a spot rung: "
                                               "non-prod bursts must run on spot")


def check_bounded(views: list[ResourceView], s: Mapping[str, Any]) -> Iterator[Finding]:
    """Every GPU node group, node pool, ASG or MIG has a maximum node count."""
    for c in gpu_capacity(views, s):
        if c.max_nodes is None:
            yield Finding(c.view.label, f"GPU capacity of pool {c.pool} has no maximum node count (set the autoscaling maximum)")
        elif c.max_nodes > int(s["max_nodes_per_rung"]):
            yield Finding(c.view.label, f"GPU capacity of pool {c.pool} may reach {c.max_nodes} nodes, "
                                        f"above the limit of {s['max_nodes_per_rung']}")


def check_capacity_block(view: ResourceView, s: Mapping[str, Any]) -> Iterator[str]:
    """A Capacity Block is a prepaid, non-cancellable purchase: only with the stack's explicit opt-in."""
    if view.type == CAPACITY_BLOCK and not s.get("allow_capacity_block_purchase"):
        yield ("buys a Capacity Block (prepaid, cannot be cancelled or deleted) without the stack's opt-in: "
               "set gpuinfra:aws.allow_capacity_block_purchase to true")


def check_compute_class(view: ResourceView, s: Mapping[str, Any]) -> Iterator[str]:
    """A GKE ComputeClass orders the stack's own node pools only: with node pool auto-creation or ``ScaleUpAnyway``
    GKE would create nodes (E2 defaults or any shape) outside the priced, policed ladder; every priority names
    node pools and nothing else (the CRD's rule: ``nodepools`` cannot be set along with other fields)."""
    if view.type != COMPUTE_CLASS:
        return
    if view.get("spec", "nodePoolAutoCreation", "enabled", default=False) is not False:
        yield "auto-creates node pools: GKE would add nodes the cost plan does not price (set enabled: false)"
    if view.get("spec", "whenUnsatisfiable", default=None) != "DoNotScaleUp":
        yield "scales up when no priority is satisfiable (ScaleUpAnyway or unset): set whenUnsatisfiable: DoNotScaleUp"
    priorities = view.get("spec", "priorities", default=[])
    for i, rule in enumerate(priorities if isinstance(priorities, list) else []):
        if not isinstance(rule, Mapping) or set(rule) != {"nodepools"}:
            yield f"priorities[{i}] is not a node pool list: the class must order the stack's rung node pools"


def check_odcr_end(view: ResourceView, s: Mapping[str, Any]) -> Iterator[str]:
    """Outside prod an On-Demand Capacity Reservation ends (billed whether used or not until cancelled)."""
    if view.type != ODCR:
        return
    if view.get("endDateType") != "limited" or not view.get("endDate"):
        yield (f"reserves {view.get('instanceCount')} x {view.get('instanceType')} with no end date "
               "(endDateType must be 'limited' with endDate): set end_date on the reservation")


def _watchdog_regions(views: list[ResourceView], s: Mapping[str, Any]) -> set[str]:
    """Regions with the idle watchdog's Lambda (a child of the IdleWatchdog component)."""
    return {region_of(v, s) for v in views if v.type == LAMBDA and v.parent and v.parent[0] == WATCHDOG_COMPONENT}


def check_idle_shutdown(views: list[ResourceView], s: Mapping[str, Any]) -> Iterator[Finding]:
    """Outside prod a GPU pool either scales to zero or (AWS) runs where the idle watchdog stops idle nodes."""
    watched = _watchdog_regions(views, s)
    for (cloud, pool), rungs in _pools(views, s).items():
        floor = sum(c.min_nodes for c in rungs)
        if floor == 0 or (cloud == "aws" and rungs[0].region in watched):
            continue
        hint = "add the idle watchdog in the region or set the floor to 0" if cloud == "aws" else "set the floor to 0"
        yield Finding(rungs[0].view.label, f"GPU pool {pool} ({cloud}, {rungs[0].region}) keeps {floor} node(s) "
                                           f"running with no idle shutdown: {hint}")


_REGIONS = {"aws_region": prop("string", None, "Default AWS region"), "gcp_region": prop("string", None, "Default GCP region")}

RULES = [
    Rule("gpu-allow-list", "GPU types are on the environment's allow-list.", "mandatory", "resource",
         check_allowed_gpus, {"allowed_gpus": prop("array", [], "Catalog GPU names allowed (empty: any)",
                                                   items={"type": "string"})}),
    Rule("spot-required", "Outside prod, autoscaled GPU capacity includes spot.", "mandatory", "stack", check_spot,
         {"require_spot": prop("boolean", False, "Require spot in GPU bursts"), **_REGIONS}, enabled_by="require_spot"),
    Rule("autoscaling-bounded", "Every autoscaled GPU pool has a maximum node count.", "mandatory", "stack",
         check_bounded, {"max_nodes_per_rung": prop("integer", 64, "Largest maximum a GPU rung may set"), **_REGIONS}),
    Rule("capacity-block-opt-in", "No Capacity Block purchase without the stack's opt-in.", "mandatory", "resource",
         check_capacity_block, {"allow_capacity_block_purchase": prop("boolean", False, "The stack's opt-in")}),
    Rule("compute-class-ladder-only", "GKE ComputeClasses order the stack's node pools only (no auto-created nodes).",
         "mandatory", "resource", check_compute_class),
    Rule("odcr-end-date", "Outside prod, capacity reservations carry an end date.", "mandatory", "resource",
         check_odcr_end, {"require_end_date": prop("boolean", False, "Require end dates")}, enabled_by="require_end_date"),
    Rule("idle-shutdown", "Outside prod, GPU capacity scales to zero or is watched by the idle watchdog.", "mandatory",
         "stack", check_idle_shutdown, {"require_idle_shutdown": prop("boolean", False, "Require idle shutdown"),
                                        **_REGIONS}, enabled_by="require_idle_shutdown"),
]
