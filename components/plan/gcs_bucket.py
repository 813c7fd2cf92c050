"""The GCS weights bucket of a stack, planned once: its name, location, settings and the models it holds."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.plan import names
from components.plan.tags import cost_labels
from components.spec import StackSpec
from components.spec.models import ModelSpec
from components.spec.storage import WeightsBucketSpec


@dataclass(frozen=True)
class GcsBucketPlan:
    """What ``components.gcp.weights_bucket`` renders.

    Attributes:
        name: ``gcp.weights_bucket.name``, else ``names.bucket_name(environment, project)``.
        location: The primary region, next to the GPUs (no cross-region read charges).
        environment: The stack's environment (prod protection).
        settings: The ``gcp.weights_bucket`` section (encryption, versioning, protection).
        models: Models served on GCP pools (one reader service account each).
        labels: Cost labels.
    """

    name: str
    location: str
    environment: str
    settings: WeightsBucketSpec
    models: tuple[ModelSpec, ...]
    labels: Mapping[str, str]


def plan_gcs_bucket(spec: StackSpec) -> GcsBucketPlan:
    """Plan the weights bucket of the ``gcp`` section."""
    assert spec.gcp is not None and spec.gcp.project
    pools = {p.name for p in spec.gcp.gpu_pools}
    return GcsBucketPlan(
        name=spec.gcp.weights_bucket.name or names.bucket_name(spec.environment, spec.gcp.project),
        location=spec.gcp.region or "", environment=spec.environment, settings=spec.gcp.weights_bucket,
        models=tuple(m for m in spec.models if pools & set(m.pools)), labels=cost_labels(spec))
