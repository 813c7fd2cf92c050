"""ClusterAutoscaler: cluster-autoscaler with the priority expander rendered from the capacity ladder."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.catalog import versions
from components.plan import autoscaler
from components.plan.aws_policies import cluster_autoscaler_policy, pod_identity_trust
from components.plan.ladder import LadderPlan


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    """Inputs of :class:`ClusterAutoscaler`.

    Attributes:
        cluster_name: EKS cluster name.
        cluster: The cluster resource.
        region: AWS region.
        account_id: AWS account id (scopes eks:DescribeNodegroup).
        ladders: Ladders of the GPU pools in this cluster (their rung priorities and node groups).
        aws_provider: Explicit AWS provider of the region.
        k8s_provider: Kubernetes provider of the cluster.
        depends_on: What must exist before the autoscaler runs (node groups, the pod identity agent).
        tags: Cost tags.
    """

    cluster_name: str
    cluster: aws.eks.Cluster
    region: str
    account_id: str
    ladders: list[LadderPlan]
    aws_provider: aws.Provider
    k8s_provider: k8s.Provider
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


class ClusterAutoscaler(pulumi.ComponentResource):
    """IAM role (EKS Pod Identity), priority-expander ConfigMap and the pinned Helm release."""

    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Install cluster-autoscaler into ``kube-system`` of the cluster."""
        super().__init__("gpuinfra:aws:ClusterAutoscaler", name, None, opts)
        self._args = args
        association = self._create_identity(name)
        config = self._create_priorities(name)
        self.release = self._create_release(name, [association, config])
        self.register_outputs({"release": self.release.name})

    def _create_identity(self, name: str) -> aws.eks.PodIdentityAssociation:
        args = self._args
        aws_opts = pulumi.ResourceOptions(parent=self, provider=args.aws_provider)
        role = aws.iam.Role(f"{name}-role", assume_role_policy=json.dumps(pod_identity_trust()), tags=args.tags,
                            opts=aws_opts)
        prefix = f"arn:aws:eks:{args.region}:{args.account_id}:nodegroup/{args.cluster_name}"
        aws.iam.RolePolicy(f"{name}-policy", role=role.id,
                           policy=json.dumps(cluster_autoscaler_policy(args.cluster_name, prefix)), opts=aws_opts)
        return aws.eks.PodIdentityAssociation(
            f"{name}-identity", cluster_name=args.cluster.name, namespace=autoscaler.NAMESPACE,
            service_account=autoscaler.SERVICE_ACCOUNT, role_arn=role.arn, tags=args.tags, opts=aws_opts)

    def _k8s_opts(self, depends_on: list[pulumi.Resource]) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._args.k8s_provider,
                                      depends_on=[*self._args.depends_on, *depends_on])

    def _create_priorities(self, name: str) -> k8s.core.v1.ConfigMap:
        """The ladder order as priorities: reservations, on-demand floor, spot, on-demand fallback."""
        return k8s.core.v1.ConfigMap(
            f"{name}-priorities",
            metadata={"name": autoscaler.PRIORITY_CONFIGMAP, "namespace": autoscaler.NAMESPACE},
            data=autoscaler.priority_configmap_data(self._args.ladders), opts=self._k8s_opts([]))

    def _create_release(self, name: str, depends_on: list[pulumi.Resource]) -> k8s.helm.v3.Release:
        chart = versions.chart("cluster-autoscaler")
        tag = versions.image("cluster_autoscaler").rsplit(":", 1)[1]
        return k8s.helm.v3.Release(
            name, name="cluster-autoscaler", namespace=autoscaler.NAMESPACE, chart=chart.chart,
            version=chart.version, repository_opts={"repo": chart.repo},
            values=autoscaler.helm_values(self._args.cluster_name, self._args.region, tag),
            opts=self._k8s_opts(depends_on))
