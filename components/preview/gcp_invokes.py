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






#: Public images the fake cloud knows, per (project, family), oldest first: the Deep Learning VM family's dated
#: images as public deployments recorded them (v20251216, v20260113, v20260305, v20260320; GitHub code search,
#: 2026-12-03). Tests add a newer one to see a release arrive.
IMAGES: dict[tuple[str, str], list[str]] = {
    ("deeplearning-platform-release", "common-cu128-ubuntu-2204-nvidia-570"): [
        f"common-cu128-ubuntu-2204-nvidia-570-v{d}" for d in ("20251216", "20260113", "20260305", "20260320")],
}


class ImageNotFoundError(LookupError):
    """The image or family does not exist (Compute Engine answers 404)."""


def image(ctx: MockContext) -> Result:
    """Answer ``compute.getImage`` like Compute Engine: ``family`` -> the family's newest image
    (images.getFromFamily), ``name`` -> that image (images.get); anything unknown is a 404."""
    image_project = ctx.inputs.get("project") or ctx.gcp_project
    family, name = ctx.inputs.get("family"), ctx.inputs.get("name")
    by_name = {n: f for (p, f), names in IMAGES.items() if p == image_project for n in names}
    if family:
        names = IMAGES.get((image_project, family))
        if not names:
            raise ImageNotFoundError(f"googleapi: Error 404: The resource 'projects/{image_project}/global/images/"
                                     f"family/{family}' was not found")
        name = names[-1]
    elif name not in by_name:
        raise ImageNotFoundError(f"googleapi: Error 404: The resource 'projects/{image_project}/global/images/{name}' "
                                 "was not found")
    ident = f"projects/{image_project}/global/images/{name}"
    stamp = name.rsplit("-v", 1)[-1]
    return {
        "id": ident,
        "name": name,
        "family": family or by_name[name],
        "project": image_project,
        "selfLink": COMPUTE + ident,
        "imageId": stable_digits(19, ident),
        "diskSizeGb": 50,
        "status": "READY",
        "creationTimestamp": f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T08:00:00.000-08:00",
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
