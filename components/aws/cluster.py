"""EksCluster: one region's EKS control plane, core add-ons, system node group and Kubernetes provider."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.catalog import versions
from components.plan.aws_plan import ClusterAccess
from components.plan.aws_region import EksClusterPlan

# AWS managed policies (IAM "AWS managed policies for Amazon EKS", checked 2026-11-23).
CLUSTER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
NODE_POLICIES = {
    "worker": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "cni": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "ecr": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
}
LOG_TYPES = ["api", "audit", "authenticator"]
# Add-ons nodes need to become Ready (created before any node group) and CoreDNS, which needs nodes.
PRE_NODE_ADDONS = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
POST_NODE_ADDONS = ("coredns",)
#: Add-on configuration values (JSON against the add-on's describe-addon-configuration schema). vpc-cni:
#: NetworkPolicy enforcement (network policy controller + node agent), off by default, without which the serving
#: namespace's default-deny and router-only ingress do nothing. Key and string type: chart aws-vpc-cni values.yaml
#: `enableNetworkPolicy: "false"` (aws/amazon-vpc-cni-k8s v1.21.1, charts/aws-vpc-cni); EKS user guide "Restrict
#: Pod network traffic with Kubernetes network policies" (awsdocs/amazon-eks-user-guide
#: latest/ug/networking/eks-networking-add-ons.adoc): `{"enableNetworkPolicy": "true"}`, add-on v1.14.0-eksbuild.3
#: or later, Kubernetes 1.25+, kernel 5.10+ (AL2023 AMIs). Standard enforcing mode (the default) keeps pods in
#: namespaces without policies open. Kubelet probes still pass: the node agent always admits the node's own IP
#: (aws/aws-network-policy-agent v1.3.1, the chart's nodeAgent tag: pkg/fwruleprocessor/fw_rule_processor.go).
ADDON_CONFIGURATION: dict[str, dict[str, str]] = {"vpc-cni": {"enableNetworkPolicy": "true"}}
SYSTEM_LABEL = {"gpuinfra.dev/role": "system"}


@dataclass(frozen=True)
class EksClusterArgs:
    """Inputs of :class:`EksCluster`.

    Attributes:
        region: AWS region.
        plan: The region's cluster plan (name, Kubernetes version, endpoint, system nodes, log retention).
        subnet_ids: Private subnet ids of the region (control-plane ENIs and system nodes).
        provider: Explicit AWS provider of the region.
        tags: Cost tags.
        api_client_cidrs: Private CIDRs admitted to the API endpoint on 443 (``AwsPlan.api_client_cidrs``).
        access: Access entries (the plan's ``aws.cluster_access``).
    """

    region: str
    plan: EksClusterPlan
    subnet_ids: list[pulumi.Input[str]]
    provider: aws.Provider
    tags: dict[str, str] = field(default_factory=dict)
    api_client_cidrs: tuple[str, ...] = ()
    access: tuple[ClusterAccess, ...] = ()


def _assume(service: str, *, tag_session: bool = False) -> str:
    actions = ["sts:AssumeRole", "sts:TagSession"] if tag_session else "sts:AssumeRole"
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}]})


def kubeconfig(name: pulumi.Input[str], endpoint: pulumi.Input[str], ca_data: pulumi.Input[str], region: str) -> pulumi.Output[str]:
    """Kubeconfig JSON authenticating with ``aws eks get-token`` (no long-lived credential inside)."""
    def render(v: list[str]) -> str:
        cluster, server, ca = v
        return json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": cluster,
            "clusters": [{"name": cluster, "cluster": {"server": server, "certificate-authority-data": ca}}],
            "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
            "users": [{"name": cluster, "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                "args": ["eks", "get-token", "--cluster-name", cluster, "--region", region, "--output", "json"],
                "interactiveMode": "Never"}}}],
        })
    return pulumi.Output.all(name, endpoint, ca_data).apply(render)


class EksCluster(pulumi.ComponentResource):
    """EKS cluster from ``pulumi_aws`` primitives (API auth mode, private endpoint, encrypted secrets)."""

    cluster: aws.eks.Cluster
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    k8s_provider: k8s.Provider
    addons: list[aws.eks.Addon]
    system_node_group: aws.eks.NodeGroup

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create the cluster named ``name`` (``names.cluster_name``) and everything it needs to run pods."""
        super().__init__("gpuinfra:aws:EksCluster", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.kubernetes_version = args.plan.kubernetes_version
        self.cluster = self._create_cluster(name)
        self._create_access(name)
        self.node_role_arn = self._create_node_role(name)
        pre = [self._addon(name, a, []) for a in PRE_NODE_ADDONS]
        self.system_node_group = self._create_system_nodes(name, pre)
        self.addons = pre + [self._addon(name, a, [self.system_node_group]) for a in POST_NODE_ADDONS]
        self.k8s_provider = self._create_k8s_provider(name)
        self.register_outputs({"cluster_name": self.cluster_name, "endpoint": self.endpoint,
                               "node_role_arn": self.node_role_arn})

    def _opts(self, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=depends_on or []))

    def _create_cluster(self, name: str) -> aws.eks.Cluster:
        args, spec = self._args, self._args.plan
        role = aws.iam.Role(f"{name}-cluster-role", assume_role_policy=_assume("eks.amazonaws.com", tag_session=True),
                            tags=args.tags, opts=self._child)
        attach = aws.iam.RolePolicyAttachment(f"{name}-cluster-role", role=role.name, policy_arn=CLUSTER_POLICY,
                                              opts=self._child)
        key = aws.kms.Key(f"{name}-secrets", description=f"EKS secrets encryption for {name}",
                          enable_key_rotation=True, deletion_window_in_days=30, tags=args.tags, opts=self._child)
        # EKS writes to this group; creating it first is the only way to set its retention.
        logs = aws.cloudwatch.LogGroup(f"{name}-logs", name=f"/aws/eks/{name}/cluster",
                                       retention_in_days=spec.log_retention_days, tags=args.tags, opts=self._child)
        cluster = aws.eks.Cluster(
            name, name=name, version=self.kubernetes_version, role_arn=role.arn,
            vpc_config={"subnet_ids": args.subnet_ids, "endpoint_private_access": True,
                        "endpoint_public_access": spec.endpoint_public_access,
                        "public_access_cidrs": list(spec.public_access_cidrs) or None},
            # The deployer (CI role running Pulumi) must reach the API to install the serving layer.
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True},
            bootstrap_self_managed_addons=False,  # the core add-ons below are managed and pinned instead
            enabled_cluster_log_types=LOG_TYPES,
            encryption_config={"provider": {"key_arn": key.arn}, "resources": ["secrets"]},
            tags=args.tags, opts=self._opts([attach, logs]))
        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        # The private endpoint's ENIs carry the cluster security group, which admits only the cluster itself
        # (EKS user guide, "View Amazon EKS security group requirements"): an in-network deployer needs 443.
        for index, cidr in enumerate(self._args.api_client_cidrs):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-client-{index}", security_group_id=cluster.vpc_config.cluster_security_group_id,
                cidr_ipv4=cidr, ip_protocol="tcp", from_port=443, to_port=443,
                description="deployer (pulumi up) to the Kubernetes API", tags=self._args.tags, opts=self._child)
        return cluster

    def _create_access(self, name: str) -> None:
        """One access entry per planned principal, with its cluster-scoped access policy."""
        for grant in self._args.access:
            entry = aws.eks.AccessEntry(f"{name}-{grant.key}", cluster_name=self.cluster.name,
                                        principal_arn=grant.principal_arn, type="STANDARD", tags=self._args.tags,
                                        opts=self._child)
            aws.eks.AccessPolicyAssociation(f"{name}-{grant.key}", cluster_name=self.cluster.name,
                                            principal_arn=grant.principal_arn, policy_arn=grant.policy_arn,
                                            access_scope={"type": "cluster"}, opts=self._opts([entry]))

    def _create_node_role(self, name: str) -> pulumi.Output[str]:
        role = aws.iam.Role(f"{name}-node-role", assume_role_policy=_assume("ec2.amazonaws.com"), tags=self._args.tags,
                            opts=self._child)
        self._node_policies = [
            aws.iam.RolePolicyAttachment(f"{name}-node-{key}", role=role.name, policy_arn=arn, opts=self._child)
            for key, arn in NODE_POLICIES.items()]
        return role.arn

    def _addon(self, name: str, addon: str, depends_on: list[pulumi.Resource]) -> aws.eks.Addon:
        config = ADDON_CONFIGURATION.get(addon)
        return aws.eks.Addon(f"{name}-{addon}", cluster_name=self.cluster.name, addon_name=addon,
                             addon_version=versions.eks_addon(addon),
                             configuration_values=json.dumps(config) if config else None,
                             resolve_conflicts_on_create="OVERWRITE",
                             resolve_conflicts_on_update="OVERWRITE", tags=self._args.tags,
                             opts=self._opts(depends_on))

    def _create_system_nodes(self, name: str, addons: list[aws.eks.Addon]) -> aws.eks.NodeGroup:
        """Small on-demand CPU group for add-ons, the autoscaler and monitoring (the cost model's ``-system``)."""
        spec = self._args.plan
        return aws.eks.NodeGroup(
            f"{name}-system", cluster_name=self.cluster.name, node_role_arn=self.node_role_arn,
            subnet_ids=self._args.subnet_ids, ami_type="AL2023_x86_64_STANDARD", capacity_type="ON_DEMAND",
            instance_types=[spec.system_instance_type], labels=SYSTEM_LABEL,
            scaling_config={"min_size": spec.system_nodes, "desired_size": spec.system_nodes,
                            "max_size": 2 * spec.system_nodes},
            update_config={"max_unavailable": 1}, tags=self._args.tags,
            opts=pulumi.ResourceOptions.merge(self._opts([*self._node_policies, *addons]), pulumi.ResourceOptions(
                ignore_changes=["scalingConfig.desiredSize"])))

    def _create_k8s_provider(self, name: str) -> k8s.Provider:
        config = kubeconfig(self.cluster.name, self.cluster.endpoint,
                            self.cluster.certificate_authority.apply(lambda ca: ca.data), self._args.region)
        return k8s.Provider(f"{name}-k8s", kubeconfig=config, enable_server_side_apply=True,
                            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster]))
