"""Plan-time input checks that need region zone data: each raises ConfigError naming the key, before registration."""
from __future__ import annotations

from collections.abc import Mapping

from components.catalog.versions import versions
from components.plan.aws_network import aws_zones, plan_networks
from components.plan.aws_reservations import check_capacity_blocks
from components.plan.ladder import LadderPlan
from components.plan.names import rung_name
from components.spec import ConfigError, StackSpec
from components.spec.errors import key_path

#: Zone suffixes per GCP region (cloud.google.com/compute/docs/regions-zones, checked 2025-01).
GCP_ZONE_SUFFIXES = {"us-central1": "abcf", "us-east1": "bcd", "us-east4": "abc", "us-west1": "abc",
                     "europe-west4": "abc"}


def _aws_regions(spec: StackSpec) -> list[tuple[str, tuple]]:
    """Each AWS region with the key path that puts it in the stack (the primary first)."""
    aws = spec.aws
    assert aws is not None and aws.region is not None, "load_stack_spec fills the primary region"
    out = [(aws.region, ("aws", "region"))]
    for i, pool in enumerate(aws.gpu_pools):
        if pool.region and pool.region not in [r for r, _ in out]:
            out.append((pool.region, ("aws", "gpu_pools", i, "region")))
    return out


def check_aws_zones(spec: StackSpec) -> None:
    """``az_count`` fits every region; pool zones lie in their VPC's subnet zones (reservation and capacity-block
    zones always get a subnet: ``plan_network``).

    Raises:
        ConfigError: naming the key (``aws.network.az_count``, ``...availability_zone``, ``...zones[i]``).
    """
    aws = spec.aws
    if aws is None or aws.network.existing_vpc_id:
        return  # an existing VPC's subnets are looked up at deploy time
    for region, _ in _aws_regions(spec):
        zones = aws_zones(region)
        if zones is not None and aws.network.az_count > len(zones):
            raise ConfigError(key_path(("aws", "network", "az_count")),
                              f"{aws.network.az_count} exceeds the {len(zones)} zones of {region} ({', '.join(zones)})")
    networks = {n.region: n for n in plan_networks(spec)}
    for i, pool in enumerate(aws.gpu_pools):
        network = networks[spec.pool_region("aws", pool)]
        for j, zone in enumerate(pool.zones):
            if zone not in network.zones:
                raise ConfigError(key_path(("aws", "gpu_pools", i, "zones", j)),
                                  f"{zone!r} has no subnet: the VPC of {network.region} spans "
                                  f"{', '.join(network.zones)} (aws.network.az_count picks the first zones, "
                                  "reservations add theirs); raise az_count or pick one of those")


def check_gcp_zones(spec: StackSpec) -> None:
    """GCP reservation and pool zones exist in their region.

    Raises:
        ConfigError: naming the zone's key.
    """
    gcp = spec.gcp
    if gcp is None:
        return
    for i, res in enumerate(gcp.reservations):
        _gcp_zone(res.zone, ("gcp", "reservations", i, "zone"))
    for i, pool in enumerate(gcp.gpu_pools):
        for j, zone in enumerate(pool.zones):
            _gcp_zone(zone, ("gcp", "gpu_pools", i, "zones", j))


def _gcp_zone(zone: str, loc: tuple) -> None:
    region, _, suffix = zone.rpartition("-")
    suffixes = GCP_ZONE_SUFFIXES.get(region)
    if suffixes is not None and suffix not in suffixes:
        raise ConfigError(key_path(loc), f"{zone!r} is not a zone of {region} "
                          f"(zones: {', '.join(f'{region}-{s}' for s in suffixes)})")


def check_kubernetes_version(spec: StackSpec) -> None:
    """An explicit EKS version must be the one the versions file pins add-ons for (vpc-cni, coredns and kube-proxy
    builds are per Kubernetes minor: the add-on tables of the EKS user guide), else the add-ons fail to install.

    Raises:
        ConfigError: naming ``aws.eks.kubernetes_version``.
    """
    wanted = spec.aws.eks.kubernetes_version if spec.aws else None
    pinned = str(versions()["eks_addons"]["kubernetes"])
    if wanted is not None and spec.aws.mode == "eks" and wanted != pinned:
        raise ConfigError(key_path(("aws", "eks", "kubernetes_version")),
                          f"{wanted!r}: the pinned EKS add-on versions are for {pinned} (components/catalog/data/"
                          "versions.yaml eks_addons); omit it or pin add-ons for that minor together")


#: GKE node pool names: at most 40 characters (GKE API error quoted in pulumi/pulumi-gcp#1510: "must be no longer
#: than 40 characters"); Pulumi auto-naming appends "-" and 7 characters to the resource name (pulumi-gcp
#: provider/resources.go ``prov.SetAutonaming(255, "-")``, no NodePool override). The system pool is named by
#: ``names.gke_system_pool`` within the same budget.
GKE_NODE_POOL_NAME_MAX, AUTONAME_SUFFIX = 40, 8


def check_gke_names(spec: StackSpec, ladders: Mapping[str, LadderPlan]) -> None:
    """Every GKE node pool name (``<pool>-<tier>`` plus Pulumi's suffix) fits GKE's 40-character limit.

    Raises:
        ConfigError: naming ``gcp.gpu_pools[i].name`` and the longest name it would produce.
    """
    if spec.gcp is None or spec.gcp.mode != "gke":
        return
    for index, pool in enumerate(spec.gcp.gpu_pools):
        longest = max((rung_name(pool.name, r.tier) for r in ladders[pool.name].rungs), key=len)
        if len(longest) + AUTONAME_SUFFIX > GKE_NODE_POOL_NAME_MAX:
            room = GKE_NODE_POOL_NAME_MAX - AUTONAME_SUFFIX - (len(longest) - len(pool.name))
            raise ConfigError(key_path(("gcp", "gpu_pools", index, "name")),
                              f"{pool.name!r} makes the GKE node pool {longest!r} (+{AUTONAME_SUFFIX} characters Pulumi "
                              f"adds) longer than GKE's {GKE_NODE_POOL_NAME_MAX}; use at most {room} characters")


def validate_plan_inputs(spec: StackSpec, ladders: Mapping[str, LadderPlan]) -> None:
    """Every zone-data, version and name check; ``plan_stack`` runs it on the planned ladders, before anything
    is registered."""
    check_aws_zones(spec)
    check_capacity_blocks(spec)
    check_gcp_zones(spec)
    check_kubernetes_version(spec)
    check_gke_names(spec, ladders)
