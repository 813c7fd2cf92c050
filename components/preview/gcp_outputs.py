"""Computed outputs of mocked GCP resources: self links, ids, emails and endpoints shaped like the real ones."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from components.catalog.vocab import BUCKET_SCHEME, GCP
from components.plan.gcp_shapes import gke_channel_offers, gke_default_version, kubernetes_minor
from components.preview.gcp_invokes import ZONE_SUFFIXES
from components.preview.mock_context import MockContext, fake_certificate, stable_digits

Outputs = dict[str, Any]
COMPUTE = "https://www.googleapis.com/compute/v1/"


def _compute(collection: str, scope: str = "global") -> Callable[[MockContext], Outputs]:
    """Outputs of a Compute Engine object in ``global``, ``regions/<r>`` or ``zones/<z>`` scope."""

    def outputs(ctx: MockContext) -> Outputs:
        name = ctx.physical_name(lower=True)
        project = ctx.inputs.get("project") or ctx.gcp_project
        where = {"global": "global", "region": f"regions/{ctx.inputs.get('region') or ctx.gcp_region}"}.get(scope)
        where = where or f"zones/{ctx.zone()}"
        ident = f"projects/{project}/{where}/{collection}/{name}"
        out = {"id": ident, "name": name, "project": project, "selfLink": COMPUTE + ident}
        if collection == "instanceGroupManagers":
            out["instanceGroup"] = COMPUTE + ident.replace("instanceGroupManagers", "instanceGroups")
        return out

    return outputs


def _region_instance_group_manager(ctx: MockContext) -> Outputs:
    """A regional MIG; an update policy Compute Engine refuses is refused: a fixed maxSurge / maxUnavailable must be
    0 or at least the group's zone count, not both 0 (pulumi-gcp update_policy docs; Compute Engine "Automatically
    apply VM configuration updates in a MIG"), and RECREATE needs maxUnavailable > 0 (terraform-provider-google
    v7.45.0 compute_region_instance_group_manager docs)."""
    policy = ctx.inputs.get("updatePolicy") or {}
    region = ctx.inputs.get("region") or ctx.gcp_region
    zones = len(ctx.inputs.get("distributionPolicyZones") or ZONE_SUFFIXES.get(region, "abc"))
    surge, unavailable = (int(policy.get(k) or 0) for k in ("maxSurgeFixed", "maxUnavailableFixed"))
    bad = [f"{k}={v}" for k, v in (("maxSurge.fixed", surge), ("maxUnavailable.fixed", unavailable)) if 0 < v < zones]
    if policy and (bad or surge == unavailable == 0 or (policy.get("replacementMethod") == "RECREATE" and not unavailable)):
        raise ValueError(f"googleapi: Error 400: Invalid value for field 'resource.updatePolicy': {', '.join(bad) or policy}: "
                         f"a regional group in {zones} zones takes fixed values of 0 or at least {zones}, not both 0, "
                         "and RECREATE needs maxUnavailable > 0, invalid")
    return _compute("instanceGroupManagers", "region")(ctx)


def _master_version(ctx: MockContext) -> str:
    """The version GKE creates the control plane at: the channel's default patch, or the asked-for minimum when that
    is newer; a minimum the channel does not offer is refused, as GKE refuses it."""
    channel = (ctx.inputs.get("releaseChannel") or {}).get("channel") or "REGULAR"
    asked = ctx.inputs.get("minMasterVersion")
    if asked and not gke_channel_offers(channel, asked):
        raise ValueError(f"googleapi: Error 400: Master version {asked!r} is unsupported in the {channel} channel")
    default = gke_default_version(channel)
    if asked and kubernetes_minor(asked) > kubernetes_minor(default):
        return f"{asked}.0-gke.0" if asked.count(".") == 1 else asked
    return default


def _router_nat(ctx: MockContext) -> Outputs:
    """``projects/<p>/regions/<r>/routers/<router>/<name>`` (pulumi_gcp.compute.RouterNat import format)."""
    project = ctx.inputs.get("project") or ctx.gcp_project
    region = ctx.inputs.get("region") or ctx.gcp_region
    router = str(ctx.inputs.get("router") or "router").rsplit("/", 1)[-1]
    name = ctx.physical_name(lower=True)
    return {"id": f"projects/{project}/regions/{region}/routers/{router}/{name}", "name": name, "project": project,
            "region": region}


def _private_endpoint(ctx: MockContext) -> str | None:
    config = ctx.inputs.get("privateClusterConfig") or {}
    if not config.get("enablePrivateEndpoint"):
        return None
    return str(ipaddress.ip_network(config.get("masterIpv4CidrBlock") or "172.16.0.0/28")[2])


def _cluster(ctx: MockContext) -> Outputs:
    name = ctx.physical_name(lower=True)
    project = ctx.inputs.get("project") or ctx.gcp_project
    location = ctx.inputs.get("location") or ctx.gcp_region
    ident = f"projects/{project}/locations/{location}/clusters/{name}"
    octets = bytes.fromhex(ctx.hex(8, "ip"))  # 4 bytes: the endpoint reads octets[1..3]
    return {
        "id": ident,
        "name": name,
        "project": project,
        "location": location,
        "selfLink": f"https://container.googleapis.com/v1/{ident}",
        # With enablePrivateEndpoint the control plane's internal address (in the master /28) is the endpoint.
        "endpoint": _private_endpoint(ctx) or f"34.{octets[1]}.{octets[2]}.{octets[3]}",
        "masterAuth": {"clusterCaCertificate": fake_certificate(ctx.typ, ident)},
        "masterVersion": _master_version(ctx),
        "labelFingerprint": ctx.hex(8),
    }


def _node_pool(ctx: MockContext) -> Outputs:
    name = ctx.physical_name(lower=True)
    project = ctx.inputs.get("project") or ctx.gcp_project
    location = ctx.inputs.get("location") or ctx.gcp_region
    cluster = str(ctx.inputs.get("cluster") or "cluster").rsplit("/", 1)[-1]
    # One managed instance group per zone the pool runs in (a regional pool without node_locations uses the
    # region's zones), each named gke-<cluster>-<pool>-<hash>-grp as GKE names them.
    zones = list(ctx.inputs.get("nodeLocations") or [])
    if not zones:
        zones = [location] if location.count("-") > 1 else [f"{location}-{s}" for s in ZONE_SUFFIXES.get(location, "abc")]
    groups = [f"{COMPUTE}projects/{project}/zones/{zone}/instanceGroupManagers/gke-{cluster}-{name}-"
              f"{ctx.hex(8, zone)}-grp" for zone in zones]
    return {
        "id": f"projects/{project}/locations/{location}/clusters/{cluster}/nodePools/{name}",
        "name": name,
        "project": project,
        "location": location,
        "instanceGroupUrls": groups,
        "managedInstanceGroupUrls": groups,
    }


def _service_account(ctx: MockContext) -> Outputs:
    project = ctx.inputs.get("project") or ctx.gcp_project
    account_id = ctx.inputs.get("accountId") or ctx.name
    email = f"{account_id}@{project}.iam.gserviceaccount.com"
    name = f"projects/{project}/serviceAccounts/{email}"
    return {
        "id": name,
        "name": name,
        "email": email,
        "member": f"serviceAccount:{email}",
        "uniqueId": stable_digits(21, ctx.typ, email),
        "project": project,
    }


def _storage_bucket(ctx: MockContext) -> Outputs:
    name = ctx.physical_name(lower=True)
    return {
        "id": name,
        "name": name,
        "url": f"{BUCKET_SCHEME[GCP]}://{name}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{name}",
        "project": ctx.inputs.get("project") or ctx.gcp_project,
        "location": str(ctx.inputs.get("location") or "US").upper(),
    }


def generic(ctx: MockContext) -> Outputs:
    """Fallback for GCP types without an entry: ``projects/<p>/...`` id and a self link for compute types."""
    module, kind = ctx.typ.split(":")[1].split("/")[0], ctx.typ.rsplit(":", 1)[-1]
    if module == "compute":
        return _compute(kind[0].lower() + kind[1:] + "s")(ctx)
    project = ctx.inputs.get("project") or ctx.gcp_project
    return {"id": f"projects/{project}/{kind.lower()}s/{ctx.physical_name(lower=True)}", "project": project}


# Type token -> computed outputs. Add a type with one line here.
GCP_OUTPUTS: dict[str, Callable[[MockContext], Outputs]] = {
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:container/nodePool:NodePool": _node_pool,
    "gcp:serviceaccount/account:Account": _service_account,
    "gcp:storage/bucket:Bucket": _storage_bucket,
    "gcp:compute/network:Network": _compute("networks"),
    "gcp:compute/subnetwork:Subnetwork": _compute("subnetworks", "region"),
    "gcp:compute/firewall:Firewall": _compute("firewalls"),
    "gcp:compute/router:Router": _compute("routers", "region"),
    "gcp:compute/instanceTemplate:InstanceTemplate": _compute("instanceTemplates"),
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": _region_instance_group_manager,
    "gcp:compute/reservation:Reservation": _compute("reservations", "zone"),
    # Regional objects have regional ids (the "can be imported" formats of pulumi_gcp.compute at the pinned SDK).
    "gcp:compute/forwardingRule:ForwardingRule": _compute("forwardingRules", "region"),
    "gcp:compute/regionAutoscaler:RegionAutoscaler": _compute("autoscalers", "region"),
    "gcp:compute/regionBackendService:RegionBackendService": _compute("backendServices", "region"),
    "gcp:compute/regionHealthCheck:RegionHealthCheck": _compute("healthChecks", "region"),
    "gcp:compute/routerNat:RouterNat": _router_nat,
}
