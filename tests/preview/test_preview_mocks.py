"""Mock outputs and invoke answers, called directly (no Pulumi runtime)."""

import json

import pytest
from pulumi.runtime import MockCallArgs, MockResourceArgs

from components.preview.mocks import GpuinfraMocks, UnknownInvokeError


def _provider(mocks, typ, name, **inputs):
    ident, _ = mocks.new_resource(MockResourceArgs(typ, name, inputs))
    return f"urn:pulumi:s::p::{typ}::{name}::{ident}"


def test_aws_outputs_follow_the_explicit_provider_region():
    mocks = GpuinfraMocks({"aws:region": "us-east-1"})
    ref = _provider(mocks, "pulumi:providers:aws", "usw2", region='"us-west-2"')  # provider inputs arrive JSON-encoded
    _, bucket = mocks.new_resource(MockResourceArgs("aws:s3/bucket:Bucket", "weights", {"bucket": "w"}, provider=ref))
    assert bucket["bucketRegionalDomainName"] == "w.s3.us-west-2.amazonaws.com"
    assert bucket["arn"] == "arn:aws:s3:::w"
    ident, vpc = mocks.new_resource(MockResourceArgs("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"}))
    assert ident.startswith("vpc-") and vpc["cidrBlock"] == "10.0.0.0/16"
    assert vpc["arn"] == f"arn:aws:ec2:us-east-1:123456789012:vpc/{ident}"  # default provider: aws:region


def test_eks_cluster_iam_role_and_launch_template_outputs():
    mocks = GpuinfraMocks({"aws:region": "eu-west-1"})
    _, cluster = mocks.new_resource(MockResourceArgs("aws:eks/cluster:Cluster", "c", {"name": "gpu"}))
    assert cluster["endpoint"].endswith(".eu-west-1.eks.amazonaws.com")
    assert cluster["certificateAuthority"]["data"]
    assert cluster["identities"][0]["oidcs"][0]["issuer"].startswith("https://oidc.eks.eu-west-1")
    _, role = mocks.new_resource(MockResourceArgs("aws:iam/role:Role", "reader", {}))
    assert role["arn"] == f"arn:aws:iam::123456789012:role/{role['name']}"
    assert role["name"].startswith("reader-") and role["uniqueId"].startswith("AROA")
    ident, lt = mocks.new_resource(MockResourceArgs("aws:ec2/launchTemplate:LaunchTemplate", "lt", {}))
    assert ident.startswith("lt-") and lt["latestVersion"] == 1


def test_gcp_service_account_and_bucket_outputs():
    mocks = GpuinfraMocks({"gcp:project": "acme"})
    _, sa = mocks.new_resource(MockResourceArgs("gcp:serviceaccount/account:Account", "sa", {"accountId": "vllm"}))
    assert sa["email"] == "vllm@acme.iam.gserviceaccount.com"
    _, bucket = mocks.new_resource(MockResourceArgs("gcp:storage/bucket:Bucket", "b", {"name": "weights"}))
    assert bucket["url"] == "gs://weights"
    _, net = mocks.new_resource(MockResourceArgs("gcp:compute/network:Network", "n", {"name": "vpc"}))
    assert net["id"] == "projects/acme/global/networks/vpc"


def test_unknown_invoke_token_fails_loudly_naming_it():
    with pytest.raises(UnknownInvokeError, match="aws:ec2/getVpc:getVpc"):
        GpuinfraMocks().call(MockCallArgs("aws:ec2/getVpc:getVpc", {}, ""))


def test_availability_zones_are_those_of_the_provider_region():
    mocks = GpuinfraMocks({"aws:region": "us-east-1"})
    ref = _provider(mocks, "pulumi:providers:aws", "usw2", region="us-west-2")
    zones, _ = mocks.call(MockCallArgs("aws:index/getAvailabilityZones:getAvailabilityZones", {}, ref))
    assert zones["names"] == ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"]
    default, _ = mocks.call(MockCallArgs("aws:index/getAvailabilityZones:getAvailabilityZones", {"excludeNames": ["us-east-1e"]}, ""))
    assert default["names"] == ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f"]


def test_ssm_answers_public_parameters_only():
    mocks = GpuinfraMocks()
    name = "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/nvidia/recommended/image_id"
    first, _ = mocks.call(MockCallArgs("aws:ssm/getParameter:getParameter", {"name": name}, ""))
    again, _ = mocks.call(MockCallArgs("aws:ssm/getParameter:getParameter", {"name": name}, ""))
    assert first["value"].startswith("ami-0") and len(first["value"]) == 21
    assert first["value"] == again["value"]  # deterministic
    with pytest.raises(ValueError, match="/acme/secret"):
        mocks.call(MockCallArgs("aws:ssm/getParameter:getParameter", {"name": "/acme/secret"}, ""))


def test_gcp_invokes():
    mocks = GpuinfraMocks({"gcp:project": "acme", "gcp:region": "us-east4"})
    zones, _ = mocks.call(MockCallArgs("gcp:compute/getZones:getZones", {}, ""))
    assert zones["names"] == ["us-east4-a", "us-east4-b", "us-east4-c"]
