"""Cost and ownership tags (AWS) and labels (GCP, Kubernetes) from one source."""
from __future__ import annotations

import re

from components.spec import StackSpec


def cost_tags(spec: StackSpec, *, model: str | None = None, auto_shutdown: bool = False) -> dict[str, str]:
    """AWS tags every taggable resource carries (Environment, CostCenter, Owner, and Model/AutoShutdown)."""
    tags = {"Environment": spec.environment, "CostCenter": spec.cost_center, "Owner": spec.owner,
            "ManagedBy": "gpuinfra"}
    if model:
        tags["Model"] = model
    if auto_shutdown:
        tags["AutoShutdown"] = "true"
    return tags


def region_model_tag(spec: StackSpec, region: str) -> str | None:
    """Model tag of region-wide AWS resources: the models the region's AWS GPU pools serve, joined by '+'."""
    assert spec.aws is not None
    pools = {p.name for p in spec.aws.gpu_pools if spec.pool_region("aws", p) == region}
    return "+".join(sorted(m.name for m in spec.models if pools & set(m.pools))) or None


def _label_value(value: str) -> str:
    """GCP/Kubernetes label values: lowercase letters, digits, '-', '_' and at most 63 characters."""
    return re.sub(r"[^a-z0-9_-]", "-", value.lower())[:63]


def cost_labels(spec: StackSpec, *, model: str | None = None) -> dict[str, str]:
    """GCP labels with the same meaning as :func:`cost_tags`."""
    labels = {"environment": spec.environment, "cost-center": _label_value(spec.cost_center),
              "owner": _label_value(spec.owner), "managed-by": "gpuinfra"}
    if model:
        labels["model"] = _label_value(model)
    return labels
