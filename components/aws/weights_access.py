"""EksWeightsAccess: a model's read-only EKS Pod Identity role on its own prefix of the weights bucket."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aliases import aliased
from components.plan import aws_policies, scheduling
from components.plan.aws_region import WeightsReaderPlan


@dataclass(frozen=True)
class EksWeightsAccessArgs:
    """Inputs of :class:`EksWeightsAccess`.

    Attributes:
        plan: The model's reader plan (its readable prefixes, namespace and tags).
        cluster: The EKS cluster whose pods get the role.
        bucket_arn: ARN of the weights bucket.
        kms_key_arn: KMS key of the bucket, when SSE-KMS.
        provider: Explicit AWS provider of the cluster's region.
    """

    plan: WeightsReaderPlan
    cluster: aws.eks.Cluster
    bucket_arn: pulumi.Input[str]
    provider: aws.Provider
    kms_key_arn: pulumi.Input[str] | None = None


class EksWeightsAccess(pulumi.ComponentResource):
    """Reader role trusted by ``pods.eks.amazonaws.com`` bound to the model's service account."""

    role_arn: pulumi.Output[str]
    association: aws.eks.PodIdentityAssociation

    def __init__(self, name: str, args: EksWeightsAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create the reader role, its policy and the Pod Identity association."""
        super().__init__("gpuinfra:aws:EksWeightsAccess", name, None, aliased(opts, "gpuinfra:aws:WeightsAccess"))
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        role = self._create_role(name)
        self.association = self._associate(name, role)
        self.role_arn = role.arn
        self.register_outputs({"role_arn": self.role_arn})

    def _create_role(self, name: str) -> aws.iam.Role:
        args, plan = self._args, self._args.plan
        role = aws.iam.Role(f"{name}-role", assume_role_policy=json.dumps(aws_policies.pod_identity_trust()),
                            description=f"Reads {', '.join(plan.prefixes)} of the weights bucket",
                            tags=dict(plan.tags), opts=self._child)
        policy = pulumi.Output.all(args.bucket_arn, args.kms_key_arn).apply(
            lambda v: json.dumps(aws_policies.reader_policy(v[0], list(plan.prefixes), v[1])))
        aws.iam.RolePolicy(f"{name}-read", role=role.id, policy=policy, opts=self._child)
        return role

    def _associate(self, name: str, role: aws.iam.Role) -> aws.eks.PodIdentityAssociation:
        args, plan = self._args, self._args.plan
        return aws.eks.PodIdentityAssociation(
            f"{name}-identity", cluster_name=args.cluster.name, namespace=plan.namespace,
            service_account=scheduling.serving_service_account(plan.model), role_arn=role.arn,
            tags=dict(plan.tags), opts=self._child)
