"""S3WeightsBucket: the private, versioned, TLS-only bucket holding ``<model>/<revision>/`` + manifest.json."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.plan import aws_policies, names
from components.plan.weights_replication import replica_bucket_name
from components.plan.aws_region import WeightsBucketPlan

#: Days after which an unfinished multipart upload is aborted (its parts are billed until then).
ABORT_MULTIPART_DAYS = 7


@dataclass(frozen=True)
class S3WeightsBucketArgs:
    """Inputs of :class:`S3WeightsBucket`.

    Attributes:
        plan: The bucket's settings (name, encryption, version expiry, protection), shared by its replicas.
        provider: AWS provider of the primary region.
        tags: Cost tags.
        replica_suffix: Set for a replica in another serving region (``WeightsReplica.name_suffix``): the name is
            the primary's plus this suffix, the key is the replica region's own (KMS keys are regional), and there
            is no writer role (uploads go to the primary; S3 replication fills the replica).
    """

    plan: WeightsBucketPlan
    provider: aws.Provider
    tags: dict[str, str] = field(default_factory=dict)
    replica_suffix: str | None = None


class S3WeightsBucket(pulumi.ComponentResource):
    """Weights bucket that outlives the stack: retained on delete always, protected in prod."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str] | None
    writer_role_arn: pulumi.Output[str] | None
    versioning: aws.s3.BucketVersioning

    def __init__(self, name: str, args: S3WeightsBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create the bucket, its guard rails and the upload role."""
        super().__init__("gpuinfra:aws:S3WeightsBucket", name, None, opts)
        self._args = args
        self.protect = args.plan.protect
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        # Losing the bucket or its key loses every model revision: never delete them with the stack.
        self._keep = pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
            retain_on_delete=True, protect=args.plan.protect))
        self.kms_key_arn = self._create_key(name)
        bucket = self._create_bucket(name)
        self._configure(name, bucket)
        replica = args.replica_suffix is not None
        self.writer_role_arn = None if replica else self._create_writer_role(name)
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn,
                               **({} if replica else {"writer_role_arn": self.writer_role_arn})})

    def _create_key(self, name: str) -> pulumi.Output[str] | None:
        plan = self._args.plan
        if plan.encryption != "kms":
            return None
        if plan.kms_key and self._args.replica_suffix is None:
            return pulumi.Output.from_input(plan.kms_key)
        key = aws.kms.Key(f"{name}-key", description="gpuinfra model weights bucket", enable_key_rotation=True,
                          deletion_window_in_days=30, tags=self._args.tags, opts=self._keep)
        return key.arn

    def _bucket_name(self) -> str:
        name = self._args.plan.name
        if not name:
            account = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=self._args.provider)).account_id
            name = names.bucket_name(self._args.plan.environment, account)
        suffix = self._args.replica_suffix
        return name if suffix is None else replica_bucket_name(name, suffix)

    def _create_bucket(self, name: str) -> aws.s3.Bucket:
        # Named exactly ``name`` (not ``<name>-bucket``): the cost model prices the resource ``weights``.
        bucket = aws.s3.Bucket(name, bucket=self._bucket_name(), force_destroy=False, tags=self._args.tags,
                               opts=self._keep)
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        return bucket

    def _configure(self, name: str, bucket: aws.s3.Bucket) -> None:
        """Versioning, encryption, no public access, no ACLs, TLS only, lifecycle: kept with the bucket.

        Each guard is its own resource whose delete undoes it on the bucket left behind (pulumi-aws 7.51 docs:
        deleting ``s3.BucketVersioning`` suspends versioning; destroying ``s3.BucketServerSideEncryptionConfiguration``
        resets default encryption; the policy, public-access block, ownership controls and lifecycle are removed).
        So they share the bucket's ``retain_on_delete`` / ``protect``, and the public-access block also sets the
        provider's ``skip_destroy`` (the only one of these resources that has it in pulumi-aws 7.51).
        """
        opts = self._keep
        # Replication needs versioning Enabled on source and replica (S3 user guide "Requirements and
        # considerations for replication"): the replication configuration depends on this resource.
        self.versioning = aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket.id,
                                                  versioning_configuration={"status": "Enabled"}, opts=opts)
        aws.s3.BucketServerSideEncryptionConfiguration(f"{name}-encryption", bucket=bucket.id,
                                                       rules=[self._encryption_rule()], opts=opts)
        block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, skip_destroy=True, opts=opts)
        aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=bucket.id,
                                       rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts)
        aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id,
                            policy=bucket.arn.apply(lambda arn: json.dumps(aws_policies.bucket_policy(arn))),
                            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[block])))
        aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=bucket.id, rules=[{
            "id": "expire-noncurrent-versions",
            "status": "Enabled",
            "filter": {},  # whole bucket
            "noncurrent_version_expiration": {"noncurrent_days": self._args.plan.noncurrent_version_days},
            "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_DAYS},
        }], opts=opts)

    def _encryption_rule(self) -> dict:
        if self.kms_key_arn is None:
            return {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}
        # S3 Bucket Keys cut KMS request costs for multi-GB multipart reads by orders of magnitude.
        return {"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                            "kms_master_key_id": self.kms_key_arn},
                "bucket_key_enabled": True}

    def _create_writer_role(self, name: str) -> pulumi.Output[str]:
        """Upload role: assumable by IAM principals of this account that the account's admins allow,
        and only with MFA (publishing weights changes what production serves)."""
        account = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=self._args.provider)).account_id
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }]}
        role = aws.iam.Role(f"{name}-writer", assume_role_policy=json.dumps(trust), max_session_duration=43200,
                            description="Uploads model weights (scripts/upload_weights.py)", tags=self._args.tags,
                            opts=self._child)
        policy = pulumi.Output.all(self.bucket_arn, self.kms_key_arn).apply(
            lambda v: json.dumps(aws_policies.writer_policy(v[0], v[1])))
        aws.iam.RolePolicy(f"{name}-writer", role=role.id, policy=policy, opts=self._child)
        return role.arn
