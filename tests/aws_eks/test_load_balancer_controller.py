"""The AWS Load Balancer Controller on EKS: installed wherever `aws-load-balancer-type: external` Services are
rendered, with the documented IAM policy through Pod Identity, and before those Services."""
from __future__ import annotations

import copy
import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from components.catalog.versions import chart
from components.plan.lb_controller import POLICY_FILE, controller_policy
from tests.aws_eks.conftest import Plan, policy_doc, run_plan
from tests.conftest import plan_of, raw_stack

RELEASE = "kubernetes:helm.sh/v3:Release"
SERVICE = "kubernetes:core/v1:Service"
ENVOY_PROXY = "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"
LB_TYPE = "service.beta.kubernetes.io/aws-load-balancer-type"
MIRROR = Path("/work/.mirror/kubernetes-sigs+aws-load-balancer-controller/repo")


def _dev(exposure: str, routing: bool = False) -> dict:
    raw = copy.deepcopy(raw_stack("dev"))
    raw["gpuinfra:serving"] = {**raw.get("gpuinfra:serving", {}), "exposure": exposure,
                               "routing": {"enabled": routing, "default_model": "llama-8b"}}
    return raw


@pytest.fixture(scope="module")
def internal() -> Plan:
    """dev with internal exposure and no router: one LoadBalancer Service per model."""
    return run_plan("dev", _dev("internal"))


@pytest.mark.parametrize(("stack", "raw", "regions"), [
    ("prod", None, {"us-east-1", "us-west-2"}),   # committed prod: exposure internal, two EKS regions
    ("dev", None, set()),                         # committed dev: cluster-ip, no Service asks for a load balancer
    ("dev", _dev("internal"), {"us-east-1"}),
    ("dev", _dev("public", routing=True), {"us-east-1"}),  # the router's Envoy Service carries the annotation
])
def test_the_plan_installs_the_controller_where_exposed_services_are_rendered(stack, raw, regions):
    if raw is not None and raw["gpuinfra:serving"]["exposure"] == "public":
        raw["gpuinfra:serving"] |= {"public_hostname": "llm.example.com",
                                    "tls_certificate": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}
    plan = plan_of(raw if raw is not None else raw_stack(stack))
    assert set(plan.aws.lb_controllers) == regions
    for region, lbc in plan.aws.lb_controllers.items():
        assert (lbc.values["clusterName"], lbc.values["region"]) == (lbc.cluster, region)
        assert lbc.values["serviceAccount"] == {"create": True, "name": lbc.service_account}


def test_vm_mode_installs_no_controller():
    raw = _dev("internal")
    raw["gpuinfra:aws"]["mode"] = "vm"
    assert plan_of(raw).aws.lb_controllers == {}


#: Git blob id of kubernetes-sigs/aws-load-balancer-controller v3.5.0:docs/install/iam_policy.json (Apache-2.0),
#: read with ``git rev-parse v3.5.0:docs/install/iam_policy.json`` in a mirror of the repository on 2026-12-03.
UPSTREAM_POLICY_BLOB = "761d0e733c41089c91ea009dd29faf71918085e5"


def _git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_the_vendored_policy_is_the_upstream_file_at_the_app_tag():
    """Byte for byte the upstream file (its git blob id), so CI checks it without the mirror."""
    tag = "v3.5.0"
    assert _git_blob_id(POLICY_FILE.read_bytes()) == UPSTREAM_POLICY_BLOB
    if MIRROR.exists():  # where the mirror exists, the recorded id is re-read from the tag itself
        upstream = subprocess.run(["git", f"--git-dir={MIRROR}", "rev-parse", f"{tag}:docs/install/iam_policy.json"],
                                  capture_output=True, text=True, check=True).stdout.strip()
        assert upstream == UPSTREAM_POLICY_BLOB
    chart_yaml = Path(__file__).resolve().parents[1] / "upstream" / "charts" / "aws-load-balancer-controller" / "Chart.yaml"
    assert f"appVersion: {tag}" in chart_yaml.read_text() and f"version: {chart('aws-load-balancer-controller').version}" \
        in chart_yaml.read_text()


def test_the_release_identity_and_values_match_the_cluster(plans):
    prod = plans["prod"]
    releases = [r for r in prod.of_type(RELEASE) if r.inputs["chart"] == "aws-load-balancer-controller"]
    assert len(releases) == 2
    vpcs = {r.parent["name"].removeprefix("vpc-"): r.outputs["id"] for r in prod.of_type("aws:ec2/vpc:Vpc")}
    for release in releases:
        values, cluster = release.inputs["values"], release.name.removesuffix("-lb-controller")
        region = values["region"]
        assert release.inputs["version"] == chart("aws-load-balancer-controller").version
        assert values["clusterName"] == cluster and cluster.endswith(region)
        assert values["vpcId"] == vpcs[region], "the controller must look in the cluster's VPC"
        identity = prod.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", f"{release.name}-identity")
        # The chart's ServiceAccount is serviceAccount.name when create is true (templates/_helpers.tpl, v3.5.0).
        assert identity.inputs["serviceAccount"] == values["serviceAccount"]["name"]
        assert identity.inputs["namespace"] == release.inputs["namespace"] == "kube-system"
        assert identity.inputs["clusterName"] == cluster
        assert policy_doc(prod.one("aws:iam/rolePolicy:RolePolicy", f"{release.name}-policy")) == controller_policy()
        trust = json.loads(prod.one("aws:iam/role:Role", f"{release.name}-role").inputs["assumeRolePolicy"])
        assert trust["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}


def _reaches(plan: Plan, start, target: tuple[str, str]) -> bool:
    """True when ``target`` is among the explicit dependencies of ``start`` or of anything they (or its
    ancestors) depend on."""
    index = {(r.type, r.name): r for r in plan.resources}
    seen, todo = set(), [start]
    while todo:
        record = todo.pop()
        edges = [*(record.options.get("dependsOn") or []), *([record.parent] if record.parent else [])]
        for dep in edges:
            key = (dep["type"], dep["name"])
            if key == target:
                return True
            if key not in seen and key in index:
                seen.add(key)
                todo.append(index[key])
    return False


def test_exposed_services_are_created_after_the_controller(internal, plans):
    services = [r for r in internal.of_type(SERVICE) if (r.inputs["metadata"].get("annotations") or {}).get(LB_TYPE)]
    assert services, "dev with internal exposure renders LoadBalancer Services"
    for service in services:
        assert _reaches(internal, service, (RELEASE, "gpuinfra-dev-us-east-1-lb-controller")), service.name
    prod = plans["prod"]  # the router's EnvoyProxy describes the annotated Envoy Service
    proxies = prod.of_type(ENVOY_PROXY)
    aws_proxies = [p for p in proxies if "gke" not in p.name]
    assert aws_proxies
    for proxy in aws_proxies:
        cluster = next(c for c in ("gpuinfra-prod-us-east-1", "gpuinfra-prod-us-west-2") if proxy.name.startswith(c))
        assert _reaches(prod, proxy, (RELEASE, f"{cluster}-lb-controller")), proxy.name


def test_subnets_carry_the_tags_the_controller_discovers_them_by(plans):
    """docs/deploy/subnet_discovery.md at v3.5.0: internet-facing LBs go to subnets tagged kubernetes.io/role/elb,
    internal ones to kubernetes.io/role/internal-elb (value 1 or empty); a kubernetes.io/cluster/<name> tag naming
    another cluster filters a subnet out."""
    prod = plans["prod"]
    for release in (r for r in prod.of_type(RELEASE) if r.inputs["chart"] == "aws-load-balancer-controller"):
        cluster, region = release.inputs["values"]["clusterName"], release.inputs["values"]["region"]
        subnets = prod.children("gpuinfra:aws:AwsNetwork", f"vpc-{region}", "aws:ec2/subnet:Subnet")
        for kind, role in (("-private-", "kubernetes.io/role/internal-elb"), ("-public-", "kubernetes.io/role/elb")):
            tagged = [s.inputs["tags"] for s in subnets if kind in s.name]
            assert tagged and all(t.get(role) in ("1", "") for t in tagged), (region, kind)
            assert all(t.get(f"kubernetes.io/cluster/{cluster}") in ("owned", "shared") for t in tagged)
            assert not [k for t in tagged for k in t if k.startswith("kubernetes.io/cluster/")
                        and k != f"kubernetes.io/cluster/{cluster}"]
