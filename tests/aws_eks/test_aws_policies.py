"""The weights-bucket policy documents, tested as data."""
from __future__ import annotations

import fnmatch

import pytest

from components.plan import aws_policies
from components.plan.names import model_prefix

ARN = "arn:aws:s3:::gpuinfra-prod-weights-123456789012"
KEY = "arn:aws:kms:us-east-1:123456789012:key/abcd"
PREFIX = model_prefix("llama-8b", "0e9e39f")


def _allowed(doc: dict, action: str, resource: str) -> bool:
    """True when an Allow statement (ignoring conditions) names the action and matches the resource."""
    for stmt in doc["Statement"]:
        actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        if stmt["Effect"] == "Allow" and action in actions and any(fnmatch.fnmatchcase(resource, r) for r in stmt["Resource"]):
            return True
    return False


def test_bucket_policy_denies_plain_http_on_bucket_and_objects():
    doc = aws_policies.bucket_policy(ARN)
    tls = next(s for s in doc["Statement"] if s["Condition"].get("Bool", {}).get("aws:SecureTransport") == "false")
    assert tls["Effect"] == "Deny" and tls["Principal"] == "*" and tls["Action"] == "s3:*"
    assert sorted(tls["Resource"]) == sorted([ARN, f"{ARN}/*"])


def test_bucket_policy_tls12_is_optional():
    with_tls12 = aws_policies.bucket_policy(ARN)
    without = aws_policies.bucket_policy(ARN, require_tls12=False)
    assert any("s3:TlsVersion" in s["Condition"].get("NumericLessThan", {}) for s in with_tls12["Statement"])
    assert len(without["Statement"]) == len(with_tls12["Statement"]) - 1
    assert all(s["Effect"] == "Deny" for s in with_tls12["Statement"])  # a bucket policy here only restricts


def test_reader_policy_reads_only_its_prefix():
    doc = aws_policies.reader_policy(ARN, [PREFIX])
    assert _allowed(doc, "s3:GetObject", f"{ARN}/{PREFIX}model-00001.safetensors")
    assert not _allowed(doc, "s3:GetObject", f"{ARN}/llama-70b/rev/model.safetensors")
    assert not _allowed(doc, "s3:PutObject", f"{ARN}/{PREFIX}x")
    listing = next(s for s in doc["Statement"] if s["Action"] == ["s3:ListBucket"])
    assert listing["Resource"] == [ARN]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"{PREFIX}*"]}}
    assert not any("kms:" in a for s in doc["Statement"] for a in s["Action"])


def test_reader_policy_with_canary_and_kms():
    canary = model_prefix("llama-8b", "ffff")
    doc = aws_policies.reader_policy(ARN, [PREFIX, canary, PREFIX], kms_key_arn=KEY)
    reads = next(s for s in doc["Statement"] if s["Action"] == ["s3:GetObject"])
    assert sorted(reads["Resource"]) == sorted([f"{ARN}/{PREFIX}*", f"{ARN}/{canary}*"])
    kms = next(s for s in doc["Statement"] if s["Action"] == ["kms:Decrypt"])
    assert kms["Resource"] == [KEY]


@pytest.mark.parametrize("prefixes", [[], [""], ["/"]])
def test_reader_policy_refuses_whole_bucket(prefixes):
    with pytest.raises(ValueError, match="non-empty model prefixes"):
        aws_policies.reader_policy(ARN, prefixes)


def test_writer_policy_uploads_but_never_deletes():
    doc = aws_policies.writer_policy(ARN, kms_key_arn=KEY)
    for action in ("s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"):
        assert _allowed(doc, action, f"{ARN}/llama-8b/rev/x")
    assert _allowed(doc, "s3:ListBucket", ARN)
    every = [a for s in doc["Statement"] for a in s["Action"]]
    assert not [a for a in every if "Delete" in a or a == "s3:*"]
    assert _allowed(doc, "kms:GenerateDataKey", KEY)
