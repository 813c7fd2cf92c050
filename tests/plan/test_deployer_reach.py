"""The deployer must reach every cluster API it installs the serving layer through (issue 17 item 1, issue 18 item 11).

EKS user guide, "Cluster API server endpoint": with public access off the API answers only inside the VPC; with it on,
only `publicAccessCidrs`. GKE "About network isolation": authorized networks limit the control plane endpoint, and
an empty list leaves a public endpoint open to any address. GKE API PrivateClusterConfig.enablePrivateEndpoint: "the
master's internal IP address is used as the cluster endpoint"."""
from __future__ import annotations

import copy

import pytest

from components.plan.stack import plan_stack
from components.preview.run import ProgramExit, run_program
from components.spec import ConfigError, load_stack_spec
from tests.conftest import ROOT, encode, raw_stack

RUNNER = "10.250.0.0/24"


def _refused(raw: dict, stack: str) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        plan_stack(load_stack_spec(*encode(copy.deepcopy(raw))))
    with pytest.raises(ProgramExit) as exited:
        run_program(ROOT, stack, raw_config=raw)
    assert exited.value.code == 2 and exited.value.resources == []
    return err.value


def test_committed_stacks_deploy_from_inside_the_networks():
    for stack in ("dev", "staging", "prod"):
        spec = load_stack_spec(*encode(raw_stack(stack)))
        assert spec.deployer.runner == "in-network" and spec.aws.eks.endpoint_public_access is False


def test_an_external_runner_cannot_reach_a_private_eks_endpoint():
    raw = raw_stack("dev")
    raw["gpuinfra:deployer"] = {"runner": "external"}
    err = _refused(raw, "dev")
    assert err.path == "gpuinfra:deployer.runner" and "endpoint_public_access is false" in err.message


def test_an_external_runner_outside_the_public_cidrs_is_refused():
    raw = raw_stack("dev")
    raw["gpuinfra:aws"].setdefault("eks", {}).update(endpoint_public_access=True, public_access_cidrs=["203.0.113.0/24"])
    raw["gpuinfra:deployer"] = {"runner": "external", "egress_cidrs": ["198.51.100.0/28"]}
    err = _refused(raw, "dev")
    assert err.path == "gpuinfra:deployer.egress_cidrs[0]" and "outside aws.eks.public_access_cidrs" in err.message
    raw["gpuinfra:deployer"]["egress_cidrs"] = ["203.0.113.16/28"]  # inside: planned
    plan_stack(load_stack_spec(*encode(raw)))


def test_prod_gke_needs_authorized_networks():
    raw = raw_stack("prod")
    raw["gpuinfra:gcp"]["gke"].pop("master_authorized_cidrs")
    err = _refused(raw, "prod")
    assert err.path == "gpuinfra:gcp.gke.master_authorized_cidrs" and "any address" in err.message


def test_an_in_network_runner_outside_gkes_authorized_networks_is_refused():
    raw = raw_stack("staging")
    raw["gpuinfra:gcp"]["gke"]["master_authorized_cidrs"] = ["10.99.0.0/24"]
    err = _refused(raw, "staging")
    assert err.path == "gpuinfra:deployer.network_cidrs[0]"


def test_in_network_opens_the_private_endpoints_to_the_runner_only():
    run = run_program(ROOT, "prod", raw_config=raw_stack("prod"))
    clusters = {r.name: r for r in run.resources if r.type == "aws:eks/cluster:Cluster"}
    rules = [r for r in run.resources if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
             and r.inputs.get("fromPort") == 443]
    groups = {c.outputs["vpcConfig"]["clusterSecurityGroupId"] for c in clusters.values()}
    assert clusters and {r.inputs["securityGroupId"] for r in rules} == groups  # every cluster, only clusters
    assert {r.inputs["cidrIpv4"] for r in rules} == {RUNNER}
    for cluster in clusters.values():
        assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is False
    (gke,) = [r for r in run.resources if r.type == "gcp:container/cluster:Cluster"]
    private = gke.inputs["privateClusterConfig"]
    assert private["enablePrivateEndpoint"] is True and private["masterGlobalAccessConfig"] == {"enabled": True}
    assert gke.outputs["endpoint"].startswith("172.16.0.")  # the mock answers the internal endpoint, as GKE does
