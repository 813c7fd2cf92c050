"""GcsWeightsBucket: the private, versioned GCS bucket holding ``<model>/<revision>/`` + manifest.json."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.plan import gcp_access
from components.plan.gcp_shapes import service_account_id
from components.spec.models import ModelSpec
from components.spec.storage import WeightsBucketSpec

#: Days after which an unfinished multipart (XML API) upload is aborted (its parts are billed until then).
ABORT_MULTIPART_DAYS = 7


@dataclass(frozen=True)
class GcsWeightsBucketArgs:
    """Inputs of :class:`GcsWeightsBucket`.

    Attributes:
        environment: Stack environment (prod protection derives from it).
        bucket: Bucket name (``names.bucket_name(env, project)`` unless the spec names one).
        project: GCP project id.
        location: Bucket location: the primary region, next to the GPUs (no cross-region read charges).
        spec: The stack's ``gcp.weights_bucket`` section.
        models: Models whose weights the bucket holds (one reader service account each).
        provider: GCP provider of the primary region.
        labels: Cost labels.
    """

    environment: str
    bucket: str
    project: str
    location: str
    spec: WeightsBucketSpec
    models: tuple[ModelSpec, ...]
    provider: gcp.Provider
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def protect(self) -> bool:
        """``spec.protect`` when set, else true in prod only."""
        return self.spec.protect if self.spec.protect is not None else self.environment == "prod"


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
        self.readers = {m.name: self._create_reader(name, bucket, m) for m in args.models}
        self.writer_email = self._create_writer(name, bucket)
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_url": self.bucket_url,
                               "writer_email": self.writer_email})

    def _grant_storage_agent_on_key(self, name: str) -> gcp.kms.CryptoKeyIAMMember | None:
        """CMEK: the project's Cloud Storage service agent must be able to use the key, else writes fail."""
        spec = self._args.spec
        if spec.encryption != "kms" or not spec.kms_key:
            return None
        agent = gcp.storage.get_project_service_account(
            project=self._args.project, opts=pulumi.InvokeOptions(provider=self._args.provider))
        return gcp.kms.CryptoKeyIAMMember(f"{name}-storage-agent-key", crypto_key_id=spec.kms_key,
                                          role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
                                          member=f"serviceAccount:{agent.email_address}", opts=self._child)

    def _create_bucket(self, name: str, key_grant: pulumi.Resource | None) -> gcp.storage.Bucket:
        spec, args = self._args.spec, self._args
        encryption = (gcp.storage.BucketEncryptionArgs(default_kms_key_name=spec.kms_key)
                      if spec.encryption == "kms" else None)
        # Losing the bucket loses every model revision: never delete it with the stack.
        keep = pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
            retain_on_delete=True, protect=args.protect, depends_on=[key_grant] if key_grant else None))
        # Named exactly ``name``: the cost model prices the resource ``weights``.
        return gcp.storage.Bucket(
            name, name=args.bucket, project=args.project, location=args.location.upper(), force_destroy=False,
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
            labels=args.labels, opts=keep)

    def _create_reader(self, name: str, bucket: gcp.storage.Bucket, model: ModelSpec) -> gcp.serviceaccount.Account:
        account = gcp.serviceaccount.Account(
            f"{name}-{model.name}-reader", project=self._args.project,
            account_id=service_account_id("wr", self._args.environment, model.name),
            display_name=f"gpuinfra {self._args.environment}: read {model.name} weights", opts=self._child)
        condition = gcp_access.reader_condition(self._args.bucket, model)
        gcp.storage.BucketIAMMember(
            f"{name}-{model.name}-reader-objects", bucket=bucket.name, role="roles/storage.objectViewer",
            member=account.email.apply(lambda e: f"serviceAccount:{e}"),
            condition=gcp.storage.BucketIAMMemberConditionArgs(**condition), opts=self._child)
        return account

    def _create_writer(self, name: str, bucket: gcp.storage.Bucket) -> pulumi.Output[str]:
        account = gcp.serviceaccount.Account(
            f"{name}-writer", project=self._args.project,
            account_id=service_account_id("ww", self._args.environment, "weights-writer"),
            display_name=f"gpuinfra {self._args.environment}: upload model weights", opts=self._child)
        # objectUser (create, overwrite, delete) rather than objectCreator: re-uploading a revision overwrites.
        gcp.storage.BucketIAMMember(f"{name}-writer-objects", bucket=bucket.name, role="roles/storage.objectUser",
                                    member=account.email.apply(lambda e: f"serviceAccount:{e}"), opts=self._child)
        return account.email
