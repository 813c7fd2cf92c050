"""S3WeightsReplication: the replication role and the one replication configuration of the primary weights bucket."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.weights_bucket import S3WeightsBucket
from components.plan import aws_policies
from components.plan.weights_replication import WeightsReplica


@dataclass(frozen=True)
class S3WeightsReplicationArgs:
    """Inputs of :class:`S3WeightsReplication`.

    Attributes:
        source: The primary weights bucket (uploads land there).
        replicas: Each planned replica with the bucket built for it in its region.
        provider: AWS provider of the primary region (a replication configuration belongs to the source bucket).
        tags: Cost tags.
    """

    source: S3WeightsBucket
    replicas: tuple[tuple[WeightsReplica, S3WeightsBucket], ...]
    provider: aws.Provider
    tags: dict[str, str] = field(default_factory=dict)


class S3WeightsReplication(pulumi.ComponentResource):
    """Copies each served model revision prefix from the primary bucket to the bucket of every region serving it.

    Kept and protected like the buckets (``retain_on_delete``, the source's ``protect``): a destroyed stack leaves
    its buckets behind, and replicas that silently stop filling would serve stale revisions to the next stack.
    """

    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: S3WeightsReplicationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create the replication role, its policy and the source bucket's replication configuration."""
        super().__init__("gpuinfra:aws:S3WeightsReplication", name, None, opts)
        self._args = args
        self._keep = pulumi.ResourceOptions(parent=self, provider=args.provider, retain_on_delete=True,
                                            protect=args.source.protect)
        role = self._create_role(name)
        self._configure(name, role)
        self.role_arn = role.arn
        self.register_outputs({"role_arn": self.role_arn})

    def _create_role(self, name: str) -> aws.iam.Role:
        args = self._args
        role = aws.iam.Role(f"{name}-role", assume_role_policy=json.dumps(aws_policies.replication_trust()),
                            description="S3 replication of served model revisions to each serving region",
                            tags=args.tags, opts=self._keep)
        buckets = [b for _, b in args.replicas]
        policy = pulumi.Output.all(
            args.source.bucket_arn, args.source.kms_key_arn, [b.bucket_arn for b in buckets],
            [b.kms_key_arn for b in buckets if b.kms_key_arn is not None],
        ).apply(lambda v: json.dumps(aws_policies.replication_policy(v[0], v[2], v[1], v[3])))
        self._policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=self._keep)
        return role

    def _rules(self) -> list[dict]:
        """V2 rules (with ``filter``): S3 then requires ``priority`` and ``delete_marker_replication``
        (S3 API reference PutBucketReplication, "When you add the Filter element ... you must also add
        DeleteMarkerReplication, Status, and Priority"). SSE-KMS objects replicate only when selected and given
        the replica's key (pulumi-aws 7.51 ``BucketReplicationConfigRuleSourceSelectionCriteria`` docs)."""
        rules = []
        for replica, bucket in self._args.replicas:
            destination: dict = {"bucket": bucket.bucket_arn, "storage_class": "STANDARD"}
            rule_kms: dict = {}
            if bucket.kms_key_arn is not None:
                destination["encryption_configuration"] = {"replica_kms_key_id": bucket.kms_key_arn}
                rule_kms = {"source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}}}
            for rule in replica.rules:
                rules.append({"id": rule.id, "status": "Enabled", "priority": rule.priority,
                              "filter": {"prefix": rule.prefix},
                              "delete_marker_replication": {"status": "Disabled"},
                              "destination": destination, **rule_kms})
        return rules

    def _configure(self, name: str, role: aws.iam.Role) -> None:
        args = self._args
        # Versioning must be Enabled on the source and every destination before PutBucketReplication
        # (pulumi-aws 7.51 s3.BucketReplicationConfig examples: depends_on the BucketVersioning resources).
        versioning = [args.source.versioning, *(b.versioning for _, b in args.replicas)]
        aws.s3.BucketReplicationConfig(
            f"{name}-config", bucket=args.source.bucket_name, role=role.arn, rules=self._rules(),
            opts=pulumi.ResourceOptions.merge(self._keep, pulumi.ResourceOptions(
                depends_on=[*versioning, self._policy])))
