"""Where each AWS serving region reads model weights: the primary bucket, or a replica in its own region."""
from __future__ import annotations

from dataclasses import dataclass

from components.plan import names
from components.spec import StackSpec

# Why replicate instead of reading across regions: an S3 gateway endpoint only serves buckets of its own region
# (Amazon VPC user guide "Gateway endpoints for Amazon S3": "Gateway endpoints do not allow access from other
# Regions"), so a pool in another region reaches the primary bucket through its NAT gateway and pays NAT data
# processing plus inter-region transfer on every cold start. A replica costs one inter-region copy per revision
# and its storage, and puts every download behind the region's own gateway endpoint.


@dataclass(frozen=True)
class ReplicationRule:
    """One S3 replication rule: a model revision prefix copied to one replica bucket.

    Attributes:
        id: Rule id, unique in the configuration (``<region>-<model>-<revision prefix>``, at most 255 characters).
        prefix: Object key prefix (``<model>/<revision>/``).
        priority: Unique per configuration (S3 requires distinct priorities when several V2 rules exist).
    """

    id: str
    prefix: str
    priority: int


@dataclass(frozen=True)
class WeightsReplica:
    """The weights bucket of a serving region other than the primary one.

    Attributes:
        region: The serving region the replica lives in.
        key: Logical resource name of the replica bucket component (``weights-<region>``).
        name_suffix: Appended to the primary bucket's name to name the replica (S3 names are global).
        rules: The model revision prefixes served in ``region``, replicated from the primary bucket.
    """

    region: str
    key: str
    name_suffix: str
    rules: tuple[ReplicationRule, ...]


def replica_bucket_name(primary: str, suffix: str) -> str:
    """Replica bucket name: the primary's with the region appended, within S3's 63 characters."""
    return f"{primary[:63 - len(suffix)]}{suffix}"


def _served_prefixes(spec: StackSpec, region: str) -> list[str]:
    """Prefixes (served and canary revisions) of every model with a pool in ``region``."""
    assert spec.aws is not None
    pools = {p.name for p in spec.aws.gpu_pools if spec.pool_region("aws", p) == region}
    prefixes: list[str] = []
    for model in spec.models:
        if pools.intersection(model.pools):
            revisions = [model.revision] + ([model.canary.revision] if model.canary else [])
            prefixes.extend(names.model_prefix(model.name, r) for r in revisions)
    return list(dict.fromkeys(prefixes))


def plan_weights_replicas(spec: StackSpec) -> tuple[WeightsReplica, ...]:
    """One replica per AWS pool region other than the primary, holding the prefixes served there.

    Priorities are unique over the whole configuration: S3 keeps one replication configuration per source
    bucket (pulumi-aws 7.51 ``s3.BucketReplicationConfig`` note), so every replica's rules share it.
    """
    assert spec.aws is not None and spec.aws.region
    replicas, priority = [], 0
    for region in spec.pool_regions("aws"):
        if region == spec.aws.region:
            continue
        rules = []
        for prefix in _served_prefixes(spec, region):
            priority += 1
            rules.append(ReplicationRule(id=f"{region}-{prefix.rstrip('/').replace('/', '-')}"[:255],
                                         prefix=prefix, priority=priority))
        if not rules:
            continue  # no model served there: nothing to read, and S3 refuses a configuration without rules
        replicas.append(WeightsReplica(region=region, key=f"weights-{region}", name_suffix=f"-{region}",
                                       rules=tuple(rules)))
    return tuple(replicas)

