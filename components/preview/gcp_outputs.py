"""Computed outputs of mocked GCP resources: self links, ids, emails and endpoints shaped like the real ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
        "endpoint": f"34.{octets[1]}.{octets[2]}.{octets[3]}",
        "masterAuth": {"clusterCaCertificate": fake_certificate(ctx.typ, ident)},
        "masterVersion": ctx.inputs.get("minMasterVersion") or "1.31.5-gke.1023000",
        "labelFingerprint": ctx.hex(8),
    }


def _node_pool(ctx: MockContext) -> Outputs:
    name = ctx.physical_name(lower=True)
    project = ctx.inputs.get("project") or ctx.gcp_project
    location = ctx.inputs.get("location") or ctx.gcp_region
    cluster = str(ctx.inputs.get("cluster") or "cluster").rsplit("/", 1)[-1]
    zone = f"{location}-a" if location.count("-") == 1 else location
    group = f"{COMPUTE}projects/{project}/zones/{zone}/instanceGroupManagers/gke-{cluster}-{name}-{ctx.hex(8)}-grp"
    return {
        "id": f"projects/{project}/locations/{location}/clusters/{cluster}/nodePools/{name}",
        "name": name,
        "project": project,
        "location": location,
        "instanceGroupUrls": [group],
        "managedInstanceGroupUrls": [group],
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
        "url": f"gs://{name}",
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
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": _compute("instanceGroupManagers", "region"),
    "gcp:compute/reservation:Reservation": _compute("reservations", "zone"),
}
