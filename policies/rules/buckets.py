"""Weights buckets: private, encrypted, versioned, and protected from deletion in prod (S3 and GCS)."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from policies.rules.base import Finding, Rule, prop
from policies.rules.view import ResourceView, dig

S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
GCS_BUCKET = "gcp:storage/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
ENCRYPTION = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
              "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
SSE_ALGORITHMS = ("aws:kms", "aws:kms:dsse", "AES256")
#: Components whose bucket holds model weights (protected in prod).
WEIGHTS_COMPONENTS = ("gpuinfra:aws:S3WeightsBucket", "gpuinfra:gcp:GcsWeightsBucket")


def _settings_of(bucket: ResourceView, views: list[ResourceView], types: tuple[str, ...]) -> list[ResourceView]:
    """Bucket-settings resources of one S3 bucket: same bucket name input, else the same parent component."""
    name = bucket.get("bucket")
    same_name = [v for v in views if v.type in types and name and v.get("bucket") == name]
    if same_name:
        return same_name
    siblings = [v for v in views if v.type in S3_BUCKETS and v.parent == bucket.parent]
    return [v for v in views if v.type in types and v.parent == bucket.parent] if len(siblings) == 1 else []


def _buckets(views: list[ResourceView]) -> list[ResourceView]:
    return [v for v in views if v.type in S3_BUCKETS or v.type == GCS_BUCKET]


def _private(b: ResourceView, views: list[ResourceView], s: Mapping[str, Any]) -> str:
    if b.type == GCS_BUCKET:
        bad = [] if b.get("publicAccessPrevention") == "enforced" else ["publicAccessPrevention != enforced"]
        bad += [] if b.get("uniformBucketLevelAccess") is True else ["uniformBucketLevelAccess is not true"]
        return "; ".join(bad)
    blocks = _settings_of(b, views, PUBLIC_ACCESS_BLOCK)
    if not blocks:
        return "has no public access block"
    off = [f for f in PAB_FLAGS if blocks[0].get(f) is not True]
    return f"public access block leaves {off} off" if off else ""


def _encrypted(b: ResourceView, views: list[ResourceView], s: Mapping[str, Any]) -> str:
    if b.type == GCS_BUCKET:
        return ""  # GCS always encrypts at rest (Google-managed keys); CMEK is optional by design
    rows = [r for v in _settings_of(b, views, ENCRYPTION) for r in v.get("rules", default=[])]
    if inline := dig(b.props, "serverSideEncryptionConfiguration", "rule"):  # BucketV2's inline form
        rows.append(inline)
    algos = {dig(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") for r in rows}
    return "" if algos & set(SSE_ALGORITHMS) else "has no default server-side encryption configuration"


def _versioned(b: ResourceView, views: list[ResourceView], s: Mapping[str, Any]) -> str:
    if b.type == GCS_BUCKET:
        return "" if b.get("versioning", "enabled") is True else "versioning is not enabled"
    status = {v.get("versioningConfiguration", "status") for v in _settings_of(b, views, VERSIONING)}
    return "" if "Enabled" in status or b.get("versioning", "enabled") is True else "versioning is not enabled"


def _protected(b: ResourceView, views: list[ResourceView], s: Mapping[str, Any]) -> str:
    if not (b.parent and b.parent[0] in WEIGHTS_COMPONENTS):
        return ""
    missing = [] if b.protect else ["protect"]
    # retainOnDelete is invisible to CrossGuard (PolicyResourceOptions has no such field): None there.
    missing += ["retainOnDelete"] if b.retain_on_delete is False else []
    return f"weights bucket lacks the {' and '.join(missing)} option(s): destroying the stack would delete weights" if missing else ""


def _rule(check: Callable[[ResourceView, list[ResourceView], Mapping[str, Any]], str]):
    def run(views: list[ResourceView], s: Mapping[str, Any]) -> Iterator[Finding]:
        for bucket in _buckets(views):
            if problem := check(bucket, views, s):
                yield Finding(bucket.label, problem)
    run.__doc__ = check.__doc__
    return run


RULES = [
    Rule("bucket-private", "Buckets block all public access (S3 public access block; GCS enforced prevention, uniform access).",
         "mandatory", "stack", _rule(_private)),
    Rule("bucket-encrypted", "S3 buckets have default server-side encryption.", "mandatory", "stack", _rule(_encrypted)),
    Rule("bucket-versioned", "Buckets are versioned.", "mandatory", "stack", _rule(_versioned)),
    Rule("weights-bucket-protected", "In prod, weights buckets are protected (and retained on delete).", "mandatory",
         "stack", _rule(_protected), {"require_protect": prop("boolean", False, "Require protect on weights buckets")},
         enabled_by="require_protect"),
]
