"""The AWS regional pieces, planned once: the weights bucket, each EKS cluster and each region's weight readers."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from components.catalog.versions import eks_kubernetes_version
from components.plan import names
from components.plan.tags import cost_tags
from components.spec import StackSpec


@dataclass(frozen=True)
class WeightsBucketPlan:
    """What ``components.aws.weights_bucket`` renders for the primary bucket and each replica.

    Attributes:
        environment: The stack's environment (the default bucket name derives from it).
        name: ``aws.weights_bucket.name``; ``None``: ``names.bucket_name(environment, account)``.
        encryption: ``managed`` (SSE-S3) or ``kms`` (SSE-KMS).
        kms_key: Existing key of the primary bucket (``kms`` only); ``None``: the bucket creates its own.
        noncurrent_version_days: Days before a noncurrent object version expires.
        protect: Protect the bucket (``aws.weights_bucket.protect``, default: prod only); always retained on delete.
    """

    environment: str
    name: str | None
    encryption: Literal["managed", "kms"]
    kms_key: str | None
    noncurrent_version_days: int
    protect: bool


@dataclass(frozen=True)
class EksClusterPlan:
    """What ``components.aws.cluster`` renders for one region (besides access entries and API client CIDRs).

    Attributes:
        name: Cluster name (``names.cluster_name``).
        kubernetes_version: ``aws.eks.kubernetes_version``, else the pinned default (versions.yaml).
        endpoint_public_access / public_access_cidrs: The API endpoint's public side (``aws.eks``).
        system_instance_type / system_nodes: The on-demand CPU group for add-ons (it grows up to twice that).
        log_retention_days: Retention of the control-plane log group (``aws.log_retention_days``).
    """

    name: str
    kubernetes_version: str
    endpoint_public_access: bool
    public_access_cidrs: tuple[str, ...]
    system_instance_type: str
    system_nodes: int
    log_retention_days: int


@dataclass(frozen=True)
class WeightsReaderPlan:
    """One model's read-only access to the weights bucket from one EKS cluster (``components.aws.weights_access``).

    Attributes:
        model: The model (its service account ``vllm-<model>`` gets the role).
        prefixes: Readable key prefixes: the served revision's, plus the canary revision's when a canary runs.
        namespace: Serving namespace (``serving.namespace``).
        tags: Cost tags with the model.
    """

    model: str
    prefixes: tuple[str, ...]
    namespace: str
    tags: Mapping[str, str]


def plan_weights_bucket(spec: StackSpec) -> WeightsBucketPlan:
    """The weights bucket's settings, shared by its replicas."""
    assert spec.aws is not None
    cfg = spec.aws.weights_bucket
    return WeightsBucketPlan(
        environment=spec.environment, name=cfg.name, encryption=cfg.encryption, kms_key=cfg.kms_key,
        noncurrent_version_days=cfg.noncurrent_version_days,
        protect=cfg.protect if cfg.protect is not None else spec.environment == "prod")


def plan_eks_clusters(spec: StackSpec, regions: tuple[str, ...]) -> Mapping[str, EksClusterPlan]:
    """EKS mode: one cluster per region holding AWS GPU pools; none in VM mode."""
    assert spec.aws is not None
    if spec.aws.mode != "eks":
        return {}
    eks = spec.aws.eks
    served = set(spec.pool_regions("aws"))
    return {region: EksClusterPlan(
        name=names.cluster_name(spec.environment, "aws", region),
        kubernetes_version=eks.kubernetes_version or eks_kubernetes_version(),
        endpoint_public_access=eks.endpoint_public_access,
        public_access_cidrs=tuple(str(c) for c in eks.public_access_cidrs),
        system_instance_type=eks.system_instance_type, system_nodes=eks.system_nodes,
        log_retention_days=spec.aws.log_retention_days) for region in regions if region in served}


def plan_weights_readers(spec: StackSpec) -> Mapping[str, tuple[WeightsReaderPlan, ...]]:
    """EKS mode: per region, a reader per model served on one of its pools, in model order."""
    assert spec.aws is not None
    if spec.aws.mode != "eks":
        return {}
    out = {}
    for region in spec.pool_regions("aws"):
        pools = {p.name for p in spec.aws.gpu_pools if spec.pool_region("aws", p) == region}
        out[region] = tuple(WeightsReaderPlan(
            model=m.name,
            prefixes=tuple(names.model_prefix(m.name, r) for r in [m.revision, *([m.canary.revision] if m.canary else [])]),
            namespace=spec.serving.namespace, tags=cost_tags(spec, model=m.name))
            for m in spec.models if pools.intersection(m.pools))
    return out
