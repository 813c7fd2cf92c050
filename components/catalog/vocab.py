"""The shared vocabulary: clouds, bucket URL schemes and taint effects, each defined once."""
from __future__ import annotations

from typing import Literal

Cloud = Literal["aws", "gcp"]
AWS: Cloud = "aws"
GCP: Cloud = "gcp"
CLOUDS: tuple[Cloud, ...] = (AWS, GCP)

#: Object-store URL scheme per cloud (``s3://bucket/key``, ``gs://bucket/object``).
BUCKET_SCHEME: dict[Cloud, str] = {AWS: "s3", GCP: "gs"}

#: Kubernetes taint effect -> the enum the managed node-pool APIs take. EKS ``Taint.effect`` (AWS EKS API
#: reference, Taint) and GKE ``NodeTaint.effect`` (container/v1 NodeTaint.Effect) spell the same three values alike.
TAINT_EFFECT_API: dict[str, str] = {
    "NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE",
}


def bucket_url(cloud: Cloud, bucket: str, key: str = "") -> str:
    """``<scheme>://<bucket>/<key>`` of a cloud's object store.

    Args:
        cloud: The cloud whose object store holds the bucket.
        bucket: Bucket name (or a ``$(VAR)`` reference Kubernetes expands).
        key: Object key or prefix, without a leading slash.

    Returns:
        The URL.
    """
    return f"{BUCKET_SCHEME[cloud]}://{bucket}/{key}"
