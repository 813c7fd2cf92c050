"""GcsWeightsBucket: the private, versioned GCS bucket holding ``<model>/<revision>/`` + manifest.json."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.plan.gcs_bucket import GcsBucketPlan, GcsIdentityPlan

#: Days after which an unfinished multipart (XML API) upload is aborted (its parts are billed until then).
ABORT_MULTIPART_DAYS = 7


@dataclass(frozen=True)
class GcsWeightsBucketArgs:
    """Inputs of :class:`GcsWeightsBucket`.

    Attributes:
        plan: The planned bucket (name, location, protection, encryption, identities).
        project: GCP project id.
        provider: GCP provider of the primary region.
    """

    plan: GcsBucketPlan
    project: str
    provider: gcp.Provider


class GcsWeightsBucket(pulumi.ComponentResource):
    """Weights bucket that outlives the stack (retained on delete always, protected in prod), one reader
    service account per model limited to that model's revision prefixes, and one writer for uploads."""

    bucket_name: pulumi.Output[str]
    bucket_url: pulumi.Output[str]
    readers: dict[str, gcp.serviceaccount.Account]
    writer_email: pulumi.Output[str]

    def __init__(self, name: str, args: GcsWeightsBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create the bucket, its reader and writer identities."""
        super().__init__("gpuinfra:gcp:GcsWeightsBucket", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        key_grant = self._grant_storage_agent_on_key(name)
        bucket = self._create_bucket(name, key_grant)
        self.bucket_name, self.bucket_url = bucket.name, bucket.url
        self.readers = {r.key: self._create_reader(name, bucket, r) for r in args.plan.readers}
        self.writer_email = self._create_writer(name, bucket)
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_url": self.bucket_url,
                               "writer_email": self.writer_email})

    def _grant_storage_agent_on_key(self, name: str) -> gcp.kms.CryptoKeyIAMMember | None:
        """CMEK: the project's Cloud Storage service agent must be able to use the key, else writes and reads fail."""
        key = self._args.plan.kms_key
        if key is None:
            return None
        agent = gcp.storage.get_project_service_account(
            project=self._args.project, opts=pulumi.InvokeOptions(provider=self._args.provider))
        # Kept like the bucket: the agent also decrypts on every read ("write and read Cloud KMS-encrypted objects",
        # gcloud storage service-agent --authorize-cmek), so deleting it would leave the retained weights unreadable.
        keep = pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
            retain_on_delete=True, protect=self._args.plan.protect))
        return gcp.kms.CryptoKeyIAMMember(f"{name}-storage-agent-key", crypto_key_id=key,
                                          role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
                                          member=f"serviceAccount:{agent.email_address}", opts=keep)

    def _create_bucket(self, name: str, key_grant: pulumi.Resource | None) -> gcp.storage.Bucket:
        args, spec = self._args, self._args.plan
        encryption = gcp.storage.BucketEncryptionArgs(default_kms_key_name=spec.kms_key) if spec.kms_key else None
        # Losing the bucket loses every model revision: never delete it with the stack.
        keep = pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
            retain_on_delete=True, protect=spec.protect, depends_on=[key_grant] if key_grant else None))
        # Named exactly ``name``: the cost model prices the resource ``weights``.
        return gcp.storage.Bucket(
            name, name=spec.name, project=args.project, location=spec.location.upper(), force_destroy=False,
            uniform_bucket_level_access=True, public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True), encryption=encryption,
            lifecycle_rules=[
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                        days_since_noncurrent_time=spec.noncurrent_version_days, with_state="ARCHIVED")),
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="AbortIncompleteMultipartUpload"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(age=ABORT_MULTIPART_DAYS)),
            ],
            labels=dict(spec.labels), opts=keep)

    def _create_reader(self, name: str, bucket: gcp.storage.Bucket,
                       reader: GcsIdentityPlan) -> gcp.serviceaccount.Account:
        account = gcp.serviceaccount.Account(
            f"{name}-{reader.key}-reader", project=self._args.project, account_id=reader.account_id,
            display_name=reader.display_name, opts=self._child)
        assert reader.condition is not None, "readers are always prefix-conditioned (plan/gcs_bucket.py)"
        gcp.storage.BucketIAMMember(
            f"{name}-{reader.key}-reader-objects", bucket=bucket.name, role="roles/storage.objectViewer",
            member=account.email.apply(lambda e: f"serviceAccount:{e}"),
            condition=gcp.storage.BucketIAMMemberConditionArgs(**reader.condition), opts=self._child)
        return account

    def _create_writer(self, name: str, bucket: gcp.storage.Bucket) -> pulumi.Output[str]:
        writer = self._args.plan.writer
        account = gcp.serviceaccount.Account(
            f"{name}-writer", project=self._args.project, account_id=writer.account_id,
            display_name=writer.display_name, opts=self._child)
        # objectUser (create, overwrite, delete) rather than objectCreator: re-uploading a revision overwrites.
        gcp.storage.BucketIAMMember(f"{name}-writer-objects", bucket=bucket.name, role="roles/storage.objectUser",
                                    member=account.email.apply(lambda e: f"serviceAccount:{e}"), opts=self._child)
        return account.email
