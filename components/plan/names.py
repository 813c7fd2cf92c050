"""Stable resource names derived from spec keys (never from list positions)."""
from __future__ import annotations

from components.plan.ladder import Tier
from components.catalog.vocab import AWS, Cloud


def gke_system_pool(region: str) -> str:
    """Logical name of a GKE cluster's system node pool: ``system-<region>``, unique per stack. GKE refuses node
    pool names over 40 characters and pulumi-gcp auto-names a NodePool ``<name>-<7 random>`` (pulumi/pulumi-gcp
    provider/resources.go ``prov.SetAutonaming(255, "-")``, no NodePool override), so the old
    ``<cluster>-system`` (36 characters in prod, 44 with the suffix) failed the create; the longest GCP region,
    ``northamerica-northeast2``, gives 30 + 8."""
    return f"system-{region}"


def rung_name(pool: str, tier: Tier) -> str:
    """Name of the per-rung resource (node group, node pool, MIG): ``<pool>-<tier>``."""
    return f"{pool}-{tier}"


def fleet_name(pool: str) -> str:
    """Name of an AWS VM-mode Auto Scaling group serving every rung of a pool."""
    return f"{pool}-fleet"


def cluster_name(environment: str, cloud: Cloud, region: str) -> str:
    """Kubernetes cluster name per cloud and region, e.g. ``gpuinfra-prod-us-east-1``."""
    return f"gpuinfra-{environment}-{region}" if cloud == AWS else f"gpuinfra-{environment}-{region}-gke"


def bucket_name(environment: str, owner_id: str) -> str:
    """Default weights bucket name (globally unique thanks to the account or project id)."""
    return f"gpuinfra-{environment}-weights-{owner_id}".lower()[:63]


def model_prefix(model: str, revision: str) -> str:
    """Object prefix of one model revision inside the weights bucket: ``<model>/<revision>/``."""
    return f"{model}/{revision}/"
