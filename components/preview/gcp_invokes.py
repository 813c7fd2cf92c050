"""Offline answers to GCP data-source invokes, realistic for the provider's project and region."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from components.preview.mock_context import MockContext, stable_digits

Result = dict[str, Any]

# Zone suffixes per region (cloud.google.com/compute/docs/regions-zones, checked 2025-01); default a, b, c.
ZONE_SUFFIXES = {"us-central1": "abcf", "us-east1": "bcd", "us-east4": "abc", "us-west1": "abc", "europe-west4": "abc"}
COMPUTE = "https://www.googleapis.com/compute/v1/"


def zones(ctx: MockContext) -> Result:
    """Answer ``compute.getZones`` for the requested or the provider's region."""
    region = ctx.inputs.get("region") or ctx.gcp_region
    project = ctx.inputs.get("project") or ctx.gcp_project
    names = [f"{region}-{s}" for s in ZONE_SUFFIXES.get(region, "abc")]
    return {"id": f"projects/{project}/regions/{region}", "names": names, "project": project, "region": region, "status": ctx.inputs.get("status")}






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




def storage_service_account(ctx: MockContext) -> Result:
    """Answer ``storage.getProjectServiceAccount``: the project's Cloud Storage service agent."""
    project_id = ctx.inputs.get("project") or ctx.gcp_project
    email = f"service-{stable_digits(12, 'project', project_id)}@gs-project-accounts.iam.gserviceaccount.com"
    return {"id": email, "emailAddress": email, "member": f"serviceAccount:{email}", "project": project_id}


# Invoke token -> answer. Add an invoke with one line here.
GCP_INVOKES: dict[str, Callable[[MockContext], Result]] = {
    "gcp:compute/getZones:getZones": zones,
    "gcp:compute/getImage:getImage": image,
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": storage_service_account,
}
