"""Model-weights bucket settings, shared by AWS (S3) and GCP (GCS)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.spec.base import Spec


class WeightsBucketSpec(Spec):
    """Private, versioned bucket holding ``<model>/<revision>/`` with a ``manifest.json``."""

    name: str | None = None
    """Bucket name (S3 or GCS naming rules, checked per cloud); default ``gpuinfra-<environment>-weights-<account or project>``."""
    encryption: Literal["managed", "kms"] = "managed"
    """``managed``: SSE-S3 / Google-managed keys; ``kms``: SSE-KMS / CMEK with ``kms_key``."""
    kms_key: str | None = None
    """Existing KMS key ARN (AWS) or CMEK key name (GCP); AWS creates a key when ``kms`` and unset."""
    noncurrent_version_days: int = Field(default=30, ge=1, le=3650)
    """Days before noncurrent object versions expire (1-3650)."""
    protect: bool | None = None
    """Protect and retain the bucket on delete; default: true in prod, false elsewhere."""
