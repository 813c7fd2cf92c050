"""LoadBalancerController: the AWS Load Balancer Controller (Pod Identity role + pinned Helm release) on EKS."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.catalog import versions
from components.plan.aws_policies import pod_identity_trust
from components.plan.lb_controller import LoadBalancerControllerPlan


@dataclass(frozen=True)
class LoadBalancerControllerArgs:
    """Inputs of :class:`LoadBalancerController`.

    Attributes:
        plan: The cluster's controller plan (``AwsPlan.lb_controllers``).
        cluster: The EKS cluster resource; vpc_id: its VPC (the chart's ``vpcId``).
        aws_provider / k8s_provider: Explicit providers of the region and the cluster.
        depends_on: What must exist first (the Pod Identity agent add-on, system nodes).
        tags: Cost tags.
    """

    plan: LoadBalancerControllerPlan
    cluster: aws.eks.Cluster
    vpc_id: pulumi.Input[str]
    aws_provider: aws.Provider
    k8s_provider: k8s.Provider
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


class LoadBalancerController(pulumi.ComponentResource):
    """IAM role with the controller's documented policy, its Pod Identity association, and the Helm release.

    Attributes:
        release: The Helm release; Services of ``aws-load-balancer-type: external`` must depend on it, since the
            chart's Service mutating webhook (failure policy Fail) rejects them while its pods are not up.
    """

    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: LoadBalancerControllerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Install the controller into ``plan.namespace`` of the cluster."""
        super().__init__("gpuinfra:aws:LoadBalancerController", name, None, opts)
        self._name, self._args = name, args
        association = self._create_identity()
        self.release = self._create_release(association)
        self.register_outputs({"release": self.release.name})

    def _create_identity(self) -> aws.eks.PodIdentityAssociation:
        args, plan = self._args, self._args.plan
        opts = pulumi.ResourceOptions(parent=self, provider=args.aws_provider)
        role = aws.iam.Role(f"{self._name}-role", assume_role_policy=json.dumps(pod_identity_trust()),
                            tags=args.tags, opts=opts)
        aws.iam.RolePolicy(f"{self._name}-policy", role=role.id, policy=json.dumps(plan.policy, separators=(",", ":")),
                           opts=opts)
        return aws.eks.PodIdentityAssociation(
            f"{self._name}-identity", cluster_name=args.cluster.name, namespace=plan.namespace,
            service_account=plan.service_account, role_arn=role.arn, tags=args.tags, opts=opts)

    def _create_release(self, association: aws.eks.PodIdentityAssociation) -> k8s.helm.v3.Release:
        args, plan = self._args, self._args.plan
        pinned = versions.chart(plan.chart)
        # The association exists before the pods start, so they get credentials on first start (Pod Identity
        # injects them at pod admission).
        return k8s.helm.v3.Release(
            self._name, name=plan.release, namespace=plan.namespace, chart=pinned.chart, version=pinned.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=pinned.repo),
            values={**plan.values, "vpcId": args.vpc_id},
            opts=pulumi.ResourceOptions(parent=self, provider=args.k8s_provider,
                                        depends_on=[*args.depends_on, association]))
