"""Offline answers to GCP data-source invokes, realistic for the provider's project and region."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from components.preview.mock_context import MockContext, stable_digits

Result = dict[str, Any]

# Zone suffixes per region (cloud.google.com/compute/docs/regions-zones, checked 2025-01); default a, b, c.
ZONE_SUFFIXES = {"us-central1": "abcf", "us-east1": "bcd", "us-east4": "abc", "us-west1": "abc", "europe-west4": "abc"}
# GKE versions offered in early 2025 (GKE release notes, 2025-01); newest first.
GKE_VERSIONS = ["1.31.5-gke.1023000", "1.31.4-gke.1256000", "1.30.9-gke.1046000", "1.30.8-gke.1162000", "1.29.13-gke.1109000"]
GKE_CHANNEL_DEFAULTS = {"RAPID": "1.31.5-gke.1023000", "REGULAR": "1.31.4-gke.1256000", "STABLE": "1.30.9-gke.1046000"}
COMPUTE = "https://www.googleapis.com/compute/v1/"


def zones(ctx: MockContext) -> Result:
    """Answer ``compute.getZones`` for the requested or the provider's region."""
    region = ctx.inputs.get("region") or ctx.gcp_region
    project = ctx.inputs.get("project") or ctx.gcp_project
    names = [f"{region}-{s}" for s in ZONE_SUFFIXES.get(region, "abc")]
    return {"id": f"projects/{project}/regions/{region}", "names": names, "project": project, "region": region, "status": ctx.inputs.get("status")}


def engine_versions(ctx: MockContext) -> Result:
    """Answer ``container.getEngineVersions``, filtered by ``versionPrefix``."""
    prefix = ctx.inputs.get("versionPrefix") or ""
    valid = [v for v in GKE_VERSIONS if v.startswith(prefix)]
    if not valid:
        raise ValueError(f"gcp:container/getEngineVersions:getEngineVersions: no version matches prefix {prefix!r}")
    location = ctx.inputs.get("location") or ctx.gcp_region
    project = ctx.inputs.get("project") or ctx.gcp_project
    return {
        "id": f"projects/{project}/locations/{location}",
        "location": location,
        "project": project,
        "versionPrefix": ctx.inputs.get("versionPrefix"),
        "latestMasterVersion": valid[0],
        "latestNodeVersion": valid[0],
        "defaultClusterVersion": GKE_CHANNEL_DEFAULTS["REGULAR"],
        "validMasterVersions": valid,
        "validNodeVersions": valid,
        "releaseChannelDefaultVersion": dict(GKE_CHANNEL_DEFAULTS),
        "releaseChannelLatestVersion": {k: GKE_VERSIONS[0] for k in GKE_CHANNEL_DEFAULTS},
        "releaseChannelUpgradeTargetVersion": dict(GKE_CHANNEL_DEFAULTS),
    }


def project(ctx: MockContext) -> Result:
    """Answer ``organizations.getProject`` for the requested or the provider's project."""
    project_id = ctx.inputs.get("projectId") or ctx.gcp_project
    return {
        "id": f"projects/{project_id}",
        "projectId": project_id,
        "name": project_id,
        "number": stable_digits(12, "project", project_id),
        "orgId": stable_digits(12, "org"),
        "billingAccount": "000000-000000-000000",
        "autoCreateNetwork": True,
        "deletionPolicy": "PREVENT",
        "labels": {},
        "effectiveLabels": {},
        "pulumiLabels": {},
    }


def image(ctx: MockContext) -> Result:
    """Answer ``compute.getImage`` by family or name with a dated image of that family."""
    image_project = ctx.inputs.get("project") or ctx.gcp_project
    family = ctx.inputs.get("family")
    name = ctx.inputs.get("name") or f"{family or 'image'}-v20250110"
    ident = f"projects/{image_project}/global/images/{name}"
    return {
        "id": ident,
        "name": name,
        "family": family or "",
        "project": image_project,
        "selfLink": COMPUTE + ident,
        "imageId": stable_digits(19, ident),
        "diskSizeGb": 50,
        "status": "READY",
        "creationTimestamp": "2025-01-10T08:00:00.000-08:00",
        "labels": {},
        "licenses": [],
    }


def client_config(ctx: MockContext) -> Result:
    """Answer ``organizations.getClientConfig`` with the provider's project, region and zone."""
    return {
        "id": f"projects/{ctx.gcp_project}/regions/{ctx.gcp_region}/zones/{ctx.zone()}",
        "project": ctx.gcp_project,
        "region": ctx.gcp_region,
        "zone": ctx.zone(),
        "accessToken": "offline-access-token",
        "defaultLabels": {},
    }


def storage_service_account(ctx: MockContext) -> Result:
    """Answer ``storage.getProjectServiceAccount``: the project's Cloud Storage service agent."""
    project_id = ctx.inputs.get("project") or ctx.gcp_project
    email = f"service-{stable_digits(12, 'project', project_id)}@gs-project-accounts.iam.gserviceaccount.com"
    return {"id": email, "emailAddress": email, "member": f"serviceAccount:{email}", "project": project_id}


# Invoke token -> answer. Add an invoke with one line here.
GCP_INVOKES: dict[str, Callable[[MockContext], Result]] = {
    "gcp:compute/getZones:getZones": zones,
    "gcp:container/getEngineVersions:getEngineVersions": engine_versions,
    "gcp:organizations/getProject:getProject": project,
    "gcp:compute/getImage:getImage": image,
    "gcp:organizations/getClientConfig:getClientConfig": client_config,
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": storage_service_account,
}
