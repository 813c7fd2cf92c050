"""GkeKedaIdentity: the Google service account KEDA's operator uses (GKE Workload Identity) to query Managed Prometheus."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.plan import gcp_access
from components.plan.kubernetes_plan import KEDA_NAMESPACE, KEDA_OPERATOR_SA


@dataclass(frozen=True)
class GkeKedaIdentityArgs:
    """Inputs of :class:`GkeKedaIdentity`.

    Attributes:
        project: Project of the cluster and of Managed Service for Prometheus' data.
        environment / region: Name the account (one per regional cluster).
        roles: Project roles the plan grants (``KubernetesClusterPlan.keda_gcp_roles``).
        cluster: The cluster: its creation creates the workload identity pool the member names.
    """

    project: str
    environment: str
    region: str
    roles: tuple[str, ...]
    cluster: pulumi.Resource
    provider: gcp.Provider


class GkeKedaIdentity(pulumi.ComponentResource):
    """A service account with the plan's project roles that ``keda/keda-operator`` may impersonate."""

    email: pulumi.Output[str]
    bindings: list[pulumi.Resource]

    def __init__(self, name: str, args: GkeKedaIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpuinfra:gcp:GkeKedaIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[args.cluster])
        account = gcp.serviceaccount.Account(
            name, project=args.project, account_id=gcp_access.keda_account_id(args.environment, args.region),
            display_name=f"gpuinfra KEDA {args.region}: read Managed Prometheus", opts=child)
        member = account.email.apply(lambda e: f"serviceAccount:{e}")
        self.bindings = [gcp.projects.IAMMember(f"{name}-{role.split('/')[-1]}", project=args.project, role=role,
                                                member=member, opts=child) for role in args.roles]
        self.bindings.append(gcp.serviceaccount.IAMMember(
            f"{name}-workload-identity", service_account_id=account.name, role="roles/iam.workloadIdentityUser",
            member=gcp_access.workload_identity_member(args.project, KEDA_NAMESPACE, KEDA_OPERATOR_SA), opts=child))
        self.email = account.email
        self.register_outputs({"email": self.email})
