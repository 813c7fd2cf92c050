"""The GCS weights bucket of a stack, planned once: its name, location, protection, encryption and identities."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.plan import gcp_access, names
from components.plan.gcp_shapes import service_account_id
from components.plan.tags import cost_labels
from components.spec import StackSpec


@dataclass(frozen=True)
class GcsIdentityPlan:
    """One service account of the bucket: a model's reader (prefix-conditioned) or the uploads writer.

    Attributes:
        key: Resource-name part: the model name, or ``writer``.
        account_id: The service account id (``service_account_id``: 6-30 chars, hashed when too long).
        display_name: Its display name.
        condition: IAM condition of its object grant (readers: the model's revision prefixes), or None.
    """

    key: str
    account_id: str
    display_name: str
    condition: Mapping[str, str] | None = None


@dataclass(frozen=True)
class GcsBucketPlan:
    """What ``components.gcp.weights_bucket`` renders.

    Attributes:
        name: ``gcp.weights_bucket.name``, else ``names.bucket_name(environment, project)``.
        location: The primary region, next to the GPUs (no cross-region read charges).
        environment: The stack's environment.
        protect: ``gcp.weights_bucket.protect`` when set, else true in prod only (always retained on delete).
        kms_key: CMEK key of ``encryption: kms`` (its storage agent gets a grant), None for Google-managed keys.
        noncurrent_version_days: Days a replaced object version is kept.
        readers: One reader per model served on GCP pools, limited to that model's revision prefixes.
        writer: The uploads identity (objectUser: re-uploading a revision overwrites).
        labels: Cost labels.
    """

    name: str
    location: str
    environment: str
    protect: bool
    kms_key: str | None
    noncurrent_version_days: int
    readers: tuple[GcsIdentityPlan, ...]
    writer: GcsIdentityPlan
    labels: Mapping[str, str]


def plan_gcs_bucket(spec: StackSpec) -> GcsBucketPlan:
    """Plan the weights bucket of the ``gcp`` section."""
    assert spec.gcp is not None and spec.gcp.project
    settings, env = spec.gcp.weights_bucket, spec.environment
    name = settings.name or names.bucket_name(env, spec.gcp.project)
    pools = {p.name for p in spec.gcp.gpu_pools}
    readers = tuple(GcsIdentityPlan(key=m.name, account_id=service_account_id("wr", env, m.name),
                                    display_name=f"gpuinfra {env}: read {m.name} weights",
                                    condition=gcp_access.reader_condition(name, m))
                    for m in spec.models if pools & set(m.pools))
    writer = GcsIdentityPlan(key="writer", account_id=service_account_id("ww", env, "weights-writer"),
                             display_name=f"gpuinfra {env}: upload model weights")
    return GcsBucketPlan(
        name=name, location=spec.gcp.region or "", environment=env,
        protect=settings.protect if settings.protect is not None else env == "prod",
        kms_key=settings.kms_key if settings.encryption == "kms" else None,
        noncurrent_version_days=settings.noncurrent_version_days, readers=readers, writer=writer,
        labels=cost_labels(spec))
