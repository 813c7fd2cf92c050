"""Every AWS serving region reads weights from a bucket in its own region, filled by S3 replication (issue 17.13).

Why: an S3 gateway endpoint serves only buckets of its own region (Amazon VPC user guide, "Gateway endpoints for
Amazon S3": "Gateway endpoints do not allow access from other Regions"), so prod's us-west-2 pool reading the
us-east-1 bucket paid NAT processing plus inter-region transfer on every cold start.
"""
from __future__ import annotations

import copy
import json

import pytest

from components.preview.aws_refusals import ResourceRefusedError, S3Refusals
from components.spec.load import load_stack_spec
from tests.aws_eks.conftest import Plan, run_plan
from tests.conftest import encode, raw_stack

BUCKET = "aws:s3/bucket:Bucket"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"


def _prod_vm_raw() -> dict:
    raw = copy.deepcopy(raw_stack("prod"))
    raw["gpuinfra:aws"]["mode"] = "vm"
    raw["gpuinfra:aws"].pop("eks", None)
    raw["gpuinfra:serving"]["routing"]["enabled"] = False  # the router runs in Kubernetes clusters only
    return raw


@pytest.fixture(scope="module", params=["eks", "vm"])
def prod(request) -> Plan:
    return run_plan("prod", None if request.param == "eks" else _prod_vm_raw())


def _provider_region(record) -> str:
    return str(record.options.get("provider", "")).removeprefix("aws-")


def _read_buckets(doc: dict) -> set[str]:
    """Buckets an identity policy lets its holder GetObject from (by name)."""
    out = set()
    for st in doc["Statement"]:
        if "s3:GetObject" in st.get("Action", []):
            out.update(r.split(":::")[1].split("/")[0] for r in st["Resource"])
    return out


def test_every_weights_reader_reads_a_bucket_of_its_own_region(prod):
    """Fails before the fix: prod's us-west-2 readers were granted the us-east-1 bucket only."""
    region_of = {r.inputs["bucket"]: _provider_region(r) for r in prod.of_type(BUCKET)}
    readers = [(p, b) for p in prod.of_type(ROLE_POLICY) if (b := _read_buckets(json.loads(p.inputs["policy"])))]
    regions = {_provider_region(p) for p, _ in readers}
    assert "us-west-2" in regions, "prod serves llama-70b from us-west-2"
    for policy, buckets in readers:
        for bucket in buckets:
            assert region_of[bucket] == _provider_region(policy), f"{policy.name} reads {bucket} across regions"


def test_replication_copies_each_served_prefix_to_its_region_after_versioning(prod):
    """One configuration on the source (S3 keeps one per bucket, pulumi-aws 7.51 s3.BucketReplicationConfig note),
    one rule per model revision served in a replica region, registered after every bucket's versioning
    (versioning Enabled on source and destinations, S3 API PutBucketReplication)."""
    spec = load_stack_spec(*encode(raw_stack("prod")))
    west_pools = {p.name for p in spec.aws.gpu_pools if p.region == "us-west-2"}
    expected = {f"{m.name}/{m.revision}/" for m in spec.models if west_pools & set(m.pools)}
    (config,) = prod.of_type(REPLICATION)
    assert _provider_region(config) == "us-east-1"
    west = {r.inputs["bucket"] for r in prod.of_type(BUCKET) if _provider_region(r) == "us-west-2"}
    assert {r["filter"]["prefix"] for r in config.inputs["rules"]} == expected
    assert {r["destination"]["bucket"].split(":::")[1] for r in config.inputs["rules"]} == west
    versioned = {v.name for v in prod.of_type(VERSIONING)
                 if v.inputs["bucket"] in west | {config.inputs["bucket"]}}
    deps = {d["name"] for d in config.options.get("dependsOn", []) if d["type"] == VERSIONING}
    assert len(versioned) == 2 and versioned <= deps


def test_replicas_keep_every_guard_of_the_primary(prod):
    """A replica is a weights bucket like the primary: retained, versioned, encrypted (with a key of its own
    region, KMS keys are regional), public access blocked, TLS only."""
    (west,) = [r for r in prod.of_type(BUCKET) if _provider_region(r) == "us-west-2"]
    assert west.options.get("retainOnDelete") is True
    kinds = {r.type.split(":")[-1] for r in prod.resources
             if r.type.startswith("aws:s3/") and r.inputs.get("bucket") == west.inputs["bucket"]}
    assert {"BucketVersioning", "BucketServerSideEncryptionConfiguration", "BucketPublicAccessBlock",
            "BucketPolicy", "BucketOwnershipControls"} <= kinds
    keys = [k for k in prod.of_type("aws:kms/key:Key") if _provider_region(k) == "us-west-2"]
    assert keys, "SSE-KMS replicas need a key in their own region"


def _config(**rule) -> dict:
    base = {"id": "r1", "status": "Enabled", "priority": 1, "filter": {"prefix": "m/r/"},
            "deleteMarkerReplication": {"status": "Disabled"}, "destination": {"bucket": "arn:aws:s3:::dst"}}
    return {"bucket": "src", "rules": [{**base, **rule}]}


@pytest.mark.parametrize("versioned, config, refusal", [
    # destination not versioned: S3 InvalidRequest "Versioning must be 'Enabled' on the bucket"
    ({"src"}, _config(), "Versioning must be 'Enabled'"),
    # filter without priority: PutBucketReplication requires Priority with Filter
    ({"src", "dst"}, _config(priority=None), "no Priority"),
    # SSE-KMS objects selected without the replica's key
    ({"src", "dst"}, _config(sourceSelectionCriteria={"sseKmsEncryptedObjects": {"status": "Enabled"}}),
     "ReplicaKmsKeyID"),
])
def test_the_preview_refuses_replication_as_s3_does(versioned, config, refusal):
    s3 = S3Refusals()
    for bucket in versioned:
        s3.observe(VERSIONING, {"bucket": bucket, "versioningConfiguration": {"status": "Enabled"}})
    with pytest.raises(ResourceRefusedError, match=refusal):
        s3.observe(REPLICATION, config)


def test_the_preview_accepts_a_valid_replication():
    s3 = S3Refusals()
    for bucket in ("src", "dst"):
        s3.observe(VERSIONING, {"bucket": bucket, "versioningConfiguration": {"status": "Enabled"}})
    s3.observe(REPLICATION, _config())
