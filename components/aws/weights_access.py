"""WeightsAccess: a model's read-only EKS Pod Identity role on its own prefix of the weights bucket."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.plan import aws_policies, names, scheduling
from components.spec.models import ModelSpec


@dataclass(frozen=True)
class WeightsAccessArgs:
    """Inputs of :class:`WeightsAccess`.

    Attributes:
        model: The served model (its revision and canary revision name the readable prefixes).
        cluster: The EKS cluster whose pods get the role.
        namespace: Serving namespace (``spec.serving.namespace``).
        bucket_arn: ARN of the weights bucket.
        kms_key_arn: KMS key of the bucket, when SSE-KMS.
        provider: Explicit AWS provider of the cluster's region.
        tags: Cost tags.
    """

    model: ModelSpec
    cluster: aws.eks.Cluster
    namespace: str
    bucket_arn: pulumi.Input[str]
    provider: aws.Provider
    kms_key_arn: pulumi.Input[str] | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def prefixes(self) -> list[str]:
        """The served revision's prefix, plus the canary revision's when a canary runs."""
        revisions = [self.model.revision] + ([self.model.canary.revision] if self.model.canary else [])
        return [names.model_prefix(self.model.name, r) for r in revisions]


class WeightsAccess(pulumi.ComponentResource):
    """Reader role trusted by ``pods.eks.amazonaws.com`` bound to the model's service account."""

    role_arn: pulumi.Output[str]
    association: aws.eks.PodIdentityAssociation

    def __init__(self, name: str, args: WeightsAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create the reader role, its policy and the Pod Identity association."""
        super().__init__("gpuinfra:aws:WeightsAccess", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        role = self._create_role(name)
        self.association = self._associate(name, role)
        self.role_arn = role.arn
        self.register_outputs({"role_arn": self.role_arn})

    def _create_role(self, name: str) -> aws.iam.Role:
        args = self._args
        role = aws.iam.Role(f"{name}-role", assume_role_policy=json.dumps(aws_policies.pod_identity_trust()),
                            description=f"Reads {', '.join(args.prefixes())} of the weights bucket",
                            tags=args.tags, opts=self._child)
        policy = pulumi.Output.all(args.bucket_arn, args.kms_key_arn).apply(
            lambda v: json.dumps(aws_policies.reader_policy(v[0], args.prefixes(), v[1])))
        aws.iam.RolePolicy(f"{name}-read", role=role.id, policy=policy, opts=self._child)
        return role

    def _associate(self, name: str, role: aws.iam.Role) -> aws.eks.PodIdentityAssociation:
        args = self._args
        return aws.eks.PodIdentityAssociation(
            f"{name}-identity", cluster_name=args.cluster.name, namespace=args.namespace,
            service_account=scheduling.serving_service_account(args.model.name), role_arn=role.arn,
            tags=args.tags, opts=self._child)
