"""Destroying a stack leaves the weights bucket with every guard still applied (issue 17)."""
from __future__ import annotations

import pytest

from tests.conftest import STACKS, plan_json

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"


def _guards(doc: dict, bucket_name: str) -> list[dict]:
    """Every S3 resource configuring the bucket (versioning, encryption, policy, public access, ownership,
    lifecycle, anything added later): found by the bucket it names, not by a list of ours."""
    return [r for r in doc["resources"] if r["type"].startswith("aws:s3/") and r["type"] != BUCKET
            and r["inputs"].get("bucket") == bucket_name]


@pytest.mark.parametrize("stack", STACKS)
def test_every_guard_of_the_weights_bucket_is_kept_with_it(stack):
    """pulumi-aws 7.51 (pulumi_aws/s3/bucket_versioning.py, bucket_server_side_encryption_configuration.py):
    deleting ``BucketVersioning`` suspends versioning and destroying the SSE configuration resets the bucket's
    default encryption; a deleted policy / public-access block / ownership control / lifecycle is gone from the
    bucket. The retained bucket must keep them: same ``retainOnDelete`` and ``protect`` as the bucket, and
    ``skipDestroy`` on the public-access block (pulumi_aws/s3/bucket_public_access_block.py)."""
    doc = plan_json(stack)
    buckets = [r for r in doc["resources"] if r["type"] == BUCKET and r["name"] == "weights"]
    if not buckets:
        pytest.skip(f"{stack} has no AWS weights bucket")
    bucket = buckets[0]
    assert bucket["options"].get("retainOnDelete") is True
    guards = _guards(doc, bucket["inputs"]["bucket"])
    kinds = {r["type"].split(":")[-1] for r in guards}
    assert {"BucketVersioning", "BucketServerSideEncryptionConfiguration", "BucketPublicAccessBlock",
            "BucketPolicy", "BucketOwnershipControls", "BucketLifecycleConfiguration"} <= kinds
    for guard in guards:
        assert guard["options"].get("retainOnDelete") is True, f"{stack}: {guard['name']} is deleted on destroy"
        assert bool(guard["options"].get("protect")) is bool(bucket["options"].get("protect")), guard["name"]
    block = next(r for r in guards if r["type"] == PUBLIC_ACCESS_BLOCK)
    assert block["inputs"].get("skipDestroy") is True
