"""EKS clusters, GPU node groups, weights bucket and readers as the offline plan records them."""
from __future__ import annotations

import base64
import json
import re

import pytest
import yaml

from components.catalog import load_catalog, versions
from components.plan import names, scheduling
from components.plan.ladder import plan_ladder
from components.plan.nodeadm import parse_node_configs
from components.spec import load_stack_spec
from tests.aws_eks.conftest import BLOCK_ZONE, capacity_block_raw, existing_vpc_raw, policy_doc, vm_raw
from tests.conftest import encode, raw_stack

NG = "aws:eks/nodeGroup:NodeGroup"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
CAPACITY = {"reserved": "ON_DEMAND", "capacity-block": "CAPACITY_BLOCK", "on-demand": "ON_DEMAND", "spot": "SPOT",
            "on-demand-fallback": "ON_DEMAND"}
RAWS = {"dev": lambda: raw_stack("dev"), "prod": lambda: raw_stack("prod"), "block": capacity_block_raw,
        "existing": existing_vpc_raw, "vm": vm_raw}


def spec_of(key: str):
    return load_stack_spec(*encode(RAWS[key]()))


def _ladders(key: str):
    spec = spec_of(key)
    return spec, [plan_ladder(spec, "aws", p) for p in spec.aws.gpu_pools]


def _subnet_zones(plan) -> dict[str, str]:
    return {r.outputs["id"]: r.outputs["availabilityZone"] for r in plan.of_type("aws:ec2/subnet:Subnet")}


@pytest.mark.parametrize("key", ["dev", "prod", "block"])
def test_one_node_group_per_rung_rendered_from_the_ladder(plans, key):
    plan, (_, ladders) = plans[key], _ladders(key)
    catalog = load_catalog()
    rungs = [(ladder, rung) for ladder in ladders for rung in ladder.rungs]
    gpu_groups = [r for r in plan.of_type(NG) if not r.name.endswith("-system")]
    assert sorted(r.name for r in gpu_groups) == sorted(names.rung_name(l.pool, r.tier) for l, r in rungs)
    for ladder, rung in rungs:
        group = plan.one(NG, names.rung_name(ladder.pool, rung.tier))
        inputs = group.inputs
        assert inputs["capacityType"] == CAPACITY[rung.tier]
        assert inputs["amiType"] == "AL2023_x86_64_NVIDIA"
        # a capacity block's type lives in its launch template (tests/aws_eks/test_node_group_upstream.py)
        assert inputs.get("instanceTypes") == (None if rung.tier == "capacity-block" else list(rung.instance_types))
        gpu = "_".join(sorted({catalog.instance("aws", t).gpu.name for t in rung.instance_types}))
        assert inputs["labels"] == scheduling.node_labels(ladder.pool, rung.tier, gpu)
        assert inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
        low = 0 if rung.tier == "capacity-block" else rung.min_nodes
        assert inputs["scalingConfig"] == {"minSize": low, "desiredSize": low, "maxSize": rung.max_nodes}
        assert inputs["updateConfig"]["maxUnavailable"] == 1  # strategy: tests/aws_eks/test_node_group_upstream.py
        autoscaled = rung.min_nodes != rung.max_nodes or rung.tier == "capacity-block"
        assert ("scalingConfig.desiredSize" in group.options.get("ignoreChanges", [])) == autoscaled
        assert inputs["tags"]["k8s.io/cluster-autoscaler/enabled"] == "true"
        assert inputs["tags"]["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"] == "true:NoSchedule"


def test_prod_ladders_cover_reserved_floor_spot_and_fallback_in_two_regions(plans):
    tiers = {r.name for r in plans["prod"].of_type(NG)}
    assert {"h200-use1-reserved", "h200-use1-spot", "h200-use1-on-demand-fallback", "h200-usw2-on-demand"} <= tiers
    clusters = {r.name for r in plans["prod"].of_type("aws:eks/cluster:Cluster")}
    assert clusters == {"gpuinfra-prod-us-east-1", "gpuinfra-prod-us-west-2"}


@pytest.mark.parametrize("key,zone", [("prod", "us-east-1a"), ("block", BLOCK_ZONE)])  # the configured zones
def test_reserved_nodes_launch_only_in_the_reservation_zone(plans, key, zone):
    plan = plans[key]
    tier = "reserved" if key == "prod" else "capacity-block"
    group = plan.one(NG, f"h200-use1-{tier}")
    zones = _subnet_zones(plan)
    assert [zones[s] for s in group.inputs["subnetIds"]] == [zone]
    spot = plan.one(NG, "h200-use1-spot")
    assert len({zones[s] for s in spot.inputs["subnetIds"]}) == 3


@pytest.mark.parametrize("key", ["dev", "prod", "block"])
def test_gpu_launch_templates_carry_the_raid0_node_config(plans, key):
    groups = [r for r in plans[key].of_type(NG) if not r.name.endswith("-system")]
    # each rung's template is the shared GpuLaunchTemplate component named after the rung's node group
    templates = [r for r in plans[key].of_type(LT) if r.parent and r.parent["type"] == "gpuinfra:aws:GpuLaunchTemplate"
                 and r.parent["name"] in {g.name for g in groups}]
    assert len(templates) == len(groups)
    for group in groups:  # the AMI type stays; its release is pinned from the public SSM parameter
        assert group.inputs["amiType"] == "AL2023_x86_64_NVIDIA"
        assert group.inputs["releaseVersion"].startswith("1.35.")
    for template in templates:
        configs = parse_node_configs(base64.b64decode(template.inputs["userData"]).decode())
        assert [c["spec"]["instance"]["localStorage"]["strategy"] for c in configs] == ["RAID0"]
        assert "cluster" not in configs[0]["spec"], "managed node groups add the cluster part themselves"
        assert "imageId" not in template.inputs, "an AMI in the template would turn off EKS bootstrap merging"
        assert template.inputs["metadataOptions"]["httpTokens"] == "required"
        assert template.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"


def test_reserved_and_block_templates_target_their_reservation(plans):
    reserved = plans["prod"].one(LT, "h200-use1-reserved-lt").inputs
    odcr = plans["prod"].one("aws:ec2/capacityReservation:CapacityReservation", "h200-use1-odcr")
    assert reserved["capacityReservationSpecification"]["capacityReservationTarget"]["capacityReservationId"] == odcr.outputs["id"]
    assert "instanceMarketOptions" not in reserved
    block = plans["block"].one(LT, "h200-use1-capacity-block-lt").inputs
    assert block["instanceMarketOptions"] == {"marketType": "capacity-block"}
    assert "capacityReservationSpecification" not in plans["prod"].one(LT, "h200-use1-spot-lt").inputs


@pytest.mark.parametrize("key", ["dev", "prod"])
def test_cluster_is_private_api_auth_logged_encrypted_with_pinned_addons(plans, key):
    plan, spec = plans[key], spec_of(key)
    for cluster in plan.of_type("aws:eks/cluster:Cluster"):
        inputs = cluster.inputs
        assert inputs["accessConfig"]["authenticationMode"] == "API"
        assert inputs["vpcConfig"]["endpointPrivateAccess"] is True and inputs["vpcConfig"]["endpointPublicAccess"] is False
        assert inputs["enabledClusterLogTypes"] == ["api", "audit", "authenticator"]
        assert inputs["encryptionConfig"]["resources"] == ["secrets"]
        assert inputs["version"] == versions.eks_kubernetes_version() == versions.versions()["eks_addons"]["kubernetes"]
        addons = plan.children("gpuinfra:aws:EksCluster", cluster.name, "aws:eks/addon:Addon")
        assert {a.inputs["addonName"]: a.inputs["addonVersion"] for a in addons} == {
            n: versions.eks_addon(n) for n in ("vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent")}
        system = plan.one(NG, f"{cluster.name}-system").inputs
        n = spec.aws.eks.system_nodes
        assert system["amiType"] == "AL2023_x86_64_STANDARD"
        assert system["scalingConfig"] == {"minSize": n, "desiredSize": n, "maxSize": 2 * n}
        logs = plan.children("gpuinfra:aws:EksCluster", cluster.name, "aws:cloudwatch/logGroup:LogGroup")
        assert [g.inputs["retentionInDays"] for g in logs] == [spec.aws.log_retention_days]


def test_kubernetes_provider_is_built_from_and_depends_on_its_cluster(plans):
    plan = plans["prod"]
    clusters = {r.name: r for r in plan.of_type("aws:eks/cluster:Cluster")}
    providers = [p for p in plan.of_type("pulumi:providers:kubernetes")
                 if p.parent and p.parent["type"] == "gpuinfra:aws:EksCluster"]
    assert sorted(p.parent["name"] for p in providers) == sorted(clusters)
    for provider in providers:
        cluster = clusters[provider.parent["name"]]
        # the kubeconfig is built from this cluster's outputs (endpoint, CA, name) and nothing else
        assert plan.property_deps[provider.urn]["kubeconfig"] == [cluster.urn]
        assert provider.inputs["enableServerSideApply"] in (True, "true")


def test_bucket_is_private_versioned_tls_only_with_lifecycle(plans):
    for key, algorithm in (("dev", "AES256"), ("prod", "aws:kms")):
        plan, spec = plans[key], spec_of(key)
        bucket = plan.one("aws:s3/bucket:Bucket", "weights")
        assert bucket.inputs["bucket"] == names.bucket_name(spec.environment, "123456789012")
        block = plan.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "weights-public-access").inputs
        assert [block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")] == [True] * 4
        doc = policy_doc(plan.one("aws:s3/bucketPolicy:BucketPolicy", "weights-policy"))
        deny = [s for s in doc["Statement"] if s["Effect"] == "Deny"
                and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
        assert deny and deny[0]["Principal"] == "*" and bucket.outputs["arn"] in deny[0]["Resource"]
        assert not [s for s in doc["Statement"] if s["Effect"] == "Allow"], "the bucket policy grants nothing"
        sse = plan.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                       "weights-encryption").inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        assert sse["sseAlgorithm"] == algorithm
        versioning = plan.one("aws:s3/bucketVersioning:BucketVersioning", "weights-versioning").inputs
        assert versioning["versioningConfiguration"]["status"] == "Enabled"
        rule = plan.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "weights-lifecycle").inputs["rules"][0]
        assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == spec.aws.weights_bucket.noncurrent_version_days
        assert rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] > 0
        owner = plan.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "weights-ownership").inputs
        assert owner["rule"]["objectOwnership"] == "BucketOwnerEnforced"


@pytest.mark.parametrize("key,protect", [("dev", False), ("prod", True), ("existing", True)])
def test_bucket_is_always_retained_and_protected_in_prod_or_on_request(plans, key, protect):
    bucket = plans[key].one("aws:s3/bucket:Bucket", "weights")
    assert bucket.options.get("retainOnDelete") is True
    assert bool(bucket.options.get("protect")) is protect
    keys = [k for k in plans[key].of_type("aws:kms/key:Key") if k.name == "weights-key"]
    for key_record in keys:  # losing the key loses the weights: same options as the bucket
        assert key_record.options.get("retainOnDelete") is True and bool(key_record.options.get("protect")) is protect
        assert key_record.inputs["enableKeyRotation"] is True


@pytest.mark.parametrize("key", ["dev", "prod"])
def test_each_model_reads_only_its_own_prefix_through_pod_identity(plans, key):
    plan, spec = plans[key], spec_of(key)
    # Each region reads the weights bucket of its own region (the primary, or its replica: issue 17.13).
    arn_in = {str(b.options.get("provider")): b.outputs["arn"] for b in plan.of_type("aws:s3/bucket:Bucket")}
    associations = plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    for model in spec.models:
        readers = [r for r in plan.of_type("gpuinfra:aws:EksWeightsAccess") if r.name.startswith(f"{model.name}-")]
        assert readers, model.name
        for reader in readers:
            policy = plan.children("gpuinfra:aws:EksWeightsAccess", reader.name, "aws:iam/rolePolicy:RolePolicy")[0]
            doc = policy_doc(policy)
            objects = [r for s in doc["Statement"] if "s3:GetObject" in s["Action"] for r in s["Resource"]]
            bucket_arn = arn_in[str(policy.options.get("provider"))]
            assert objects == [f"{bucket_arn}/{names.model_prefix(model.name, model.revision)}*"]
            actions = {a for s in doc["Statement"] for a in s["Action"]}
            assert actions <= {"s3:GetObject", "s3:ListBucket", "kms:Decrypt"}
            role = plan.children("gpuinfra:aws:EksWeightsAccess", reader.name, "aws:iam/role:Role")[0]
            trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
            assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
            mine = [a for a in associations if a.parent == {"type": "gpuinfra:aws:EksWeightsAccess", "name": reader.name}]
            assert [(a.inputs["namespace"], a.inputs["serviceAccount"]) for a in mine] == [
                (spec.serving.namespace, scheduling.serving_service_account(model.name))]
            assert mine[0].inputs["roleArn"] == role.outputs["arn"]


def test_autoscaler_priorities_follow_the_ladder_and_match_only_their_group(plans):
    plan = plans["prod"]
    _, ladders = _ladders("prod")
    asg_names = {r.name: r.outputs["resources"][0]["autoscalingGroups"][0]["name"] for r in plan.of_type(NG)}
    expanders = [c for c in plan.of_type("kubernetes:core/v1:ConfigMap")
                 if c.inputs["metadata"].get("name") == "cluster-autoscaler-priority-expander"]
    assert len(expanders) == len({ladder.region for ladder in ladders if ladder.cloud == "aws"})
    for configmap in expanders:
        assert configmap.inputs["metadata"]["namespace"] == "kube-system"
        table = yaml.safe_load(configmap.inputs["data"]["priorities"])
        cluster = configmap.parent["name"].removesuffix("-autoscaler")
        for ladder in ladders:
            if names.cluster_name("prod", "aws", ladder.region) != cluster:
                continue
            got = []
            for rung in ladder.rungs:
                asg = asg_names[names.rung_name(ladder.pool, rung.tier)]
                hits = [p for p, patterns in table.items() if p > 1 and any(re.match(x, asg) for x in patterns)]
                assert len(hits) == 1, (rung.tier, hits)
                got.append(hits[0])
                others = [a for n, a in asg_names.items() if n != names.rung_name(ladder.pool, rung.tier)]
                pattern = [x for x in table[hits[0]] if re.match(x, asg)][0]
                assert not [a for a in others if re.match(pattern, a)]
            assert got == sorted(got, reverse=True) and len(set(got)) == len(got), (ladder.pool, got)


def test_autoscaler_release_is_pinned_and_uses_the_priority_expander(plans):
    plan = plans["prod"]
    chart = versions.chart("cluster-autoscaler")
    releases = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == chart.chart]
    assert len(releases) == 2  # one per EKS cluster (us-east-1, us-west-2)
    for release in releases:
        inputs = release.inputs
        assert (inputs["chart"], inputs["version"], inputs["repositoryOpts"]["repo"]) == (chart.chart, chart.version, chart.repo)
        assert inputs["values"]["extraArgs"]["expander"] == "priority"
        assert inputs["values"]["extraArgs"]["skip-nodes-with-local-storage"] is False
        assert inputs["values"]["autoDiscovery"]["clusterName"] == release.parent["name"].removesuffix("-autoscaler")
    roles = [r for r in plan.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("-autoscaler-policy")]
    for role_policy in roles:
        scale = [s for s in policy_doc(role_policy)["Statement"] if "autoscaling:SetDesiredCapacity" in s["Action"]]
        assert list(scale[0]["Condition"]["StringEquals"]) == [
            f"aws:ResourceTag/k8s.io/cluster-autoscaler/{role_policy.name.removesuffix('-autoscaler-policy')}"]


def test_scale_from_zero_tags_reach_the_auto_scaling_groups(plans):
    plan = plans["dev"]
    spot = plan.one(NG, "l4-spot-spot")
    tags = plan.children("gpuinfra:aws:EksGpuNodePool", "l4-spot-pool", "aws:autoscaling/tag:Tag")
    asg = spot.outputs["resources"][0]["autoscalingGroups"][0]["name"]
    template = {k: v for k, v in spot.inputs["tags"].items() if "node-template" in k}
    assert {t.inputs["tag"]["key"]: t.inputs["tag"]["value"] for t in tags} == template
    assert {t.inputs["autoscalingGroupName"] for t in tags} == {asg}
    assert template["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"] == "1"


def _addon_version(text: str) -> tuple[int, ...]:
    """``v1.21.1-eksbuild.7`` -> (1, 21, 1, 7)."""
    found = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)-eksbuild\.(\d+)", text)
    assert found, text
    return tuple(int(g) for g in found.groups())


@pytest.mark.parametrize("key", ["dev", "prod", "existing"])
def test_vpc_cni_enforces_network_policies(plans, key):
    # EKS user guide "Restrict Pod network traffic with Kubernetes network policies" (awsdocs/amazon-eks-user-guide
    # latest/ug/networking/eks-networking-add-ons.adoc): configuration values {"enableNetworkPolicy": "true"} (a
    # string, as the aws-vpc-cni chart's values.yaml `enableNetworkPolicy: "false"` at aws/amazon-vpc-cni-k8s
    # v1.21.1) on a v1.14.0-eksbuild.3 or later add-on. Without it the serving namespace's policies do nothing.
    plan = plans[key]
    clusters = plan.of_type("aws:eks/cluster:Cluster")
    assert clusters
    for cluster in clusters:
        (cni,) = [a for a in plan.children("gpuinfra:aws:EksCluster", cluster.name, "aws:eks/addon:Addon")
                  if a.inputs["addonName"] == "vpc-cni"]
        values = json.loads(cni.inputs["configurationValues"])
        assert values["enableNetworkPolicy"] == "true"
        assert _addon_version(cni.inputs["addonVersion"]) >= _addon_version("v1.14.0-eksbuild.3")


def test_admin_and_preview_roles_get_cluster_scoped_access_entries(plans):
    # EKS user guide "Review access policy permissions" (awsdocs/amazon-eks-user-guide
    # latest/ug/manage-access/k8s-access/access-policy-reference.adoc): AmazonEKSClusterAdminPolicy, and
    # AmazonEKSAdminViewPolicy = get/list/watch on every API group and resource (Secrets included). The narrower
    # AmazonEKSViewPolicy lists only core groups, so a preview/refresh of ServiceMonitors, HTTPRoutes, ScaledObjects
    # or Helm releases (state in Secrets) would be refused.
    from tests.aws_eks.conftest import ADMIN_ARN, VIEWER_ARN

    expected = {ADMIN_ARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                VIEWER_ARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy"}
    plan = plans["existing"]
    (cluster,) = plan.of_type("aws:eks/cluster:Cluster")
    entries = plan.children("gpuinfra:aws:EksCluster", cluster.name, "aws:eks/accessEntry:AccessEntry")
    assert sorted(e.inputs["principalArn"] for e in entries) == sorted(expected)
    assert all(e.inputs["type"] == "STANDARD" for e in entries)
    links = plan.children("gpuinfra:aws:EksCluster", cluster.name,
                          "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert {a.inputs["principalArn"]: a.inputs["policyArn"] for a in links} == expected
    assert all(a.inputs["accessScope"] == {"type": "cluster"} for a in links)


def test_plan_warns_while_the_preview_role_cannot_read_the_cluster():
    from components.plan.report import warnings

    def hint(key):
        return [w for w in warnings(spec_of(key)) if "viewer_principal_arns" in w]

    assert hint("dev") and "AWS_PREVIEW_ROLE_ARN" in hint("dev")[0]  # committed: the account is not in the repository
    assert not hint("existing")  # the variant names the preview role
    assert not hint("vm")  # no cluster to read
