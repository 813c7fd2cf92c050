"""Model-weights bucket settings, shared by AWS (S3) and GCP (GCS)."""
from __future__ import annotations

from typing import Literal

from components.spec.base import PositiveInt, Spec


class WeightsBucketSpec(Spec):
    """Private, versioned bucket holding ``<model>/<revision>/`` with a ``manifest.json``."""

    name: str | None = None
    """Bucket name; default ``gpuinfra-<environment>-weights-<account or project>``."""
    encryption: Literal["managed", "kms"] = "managed"
    """``managed``: SSE-S3 / Google-managed keys; ``kms``: SSE-KMS / CMEK with ``kms_key``."""
    kms_key: str | None = None
    """Existing KMS key ARN (AWS) or CMEK key name (GCP); AWS creates a key when ``kms`` and unset."""
    noncurrent_version_days: PositiveInt = 30
    """Days before noncurrent object versions expire."""
    protect: bool | None = None
    """Protect and retain the bucket on delete; default: true in prod, false elsewhere."""
