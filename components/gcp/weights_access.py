"""GkeWeightsAccess: Workload Identity from each model's vLLM Kubernetes service account to its bucket reader."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.plan.scheduling import serving_service_account

#: Annotation that maps a Kubernetes service account to a Google service account (GKE Workload Identity).
GSA_ANNOTATION = "iam.gke.io/gcp-service-account"


def workload_identity_member(project: str, namespace: str, model: str) -> str:
    """IAM member of a model's vLLM Kubernetes service account in the cluster's workload identity pool."""
    return f"serviceAccount:{project}.svc.id.goog[{namespace}/{serving_service_account(model)}]"


@dataclass(frozen=True)
class GkeWeightsAccessArgs:
    """Inputs of :class:`GkeWeightsAccess`.

    Attributes:
        project: Project whose workload pool (``<project>.svc.id.goog``) the cluster uses.
        namespace: Serving namespace (``serving.namespace``).
        readers: Model name -> that model's reader service account (from :class:`GcsWeightsBucket`).
        cluster: The cluster: its creation creates the workload identity pool the member names.
    """

    project: str
    namespace: str
    readers: Mapping[str, gcp.serviceaccount.Account]
    cluster: pulumi.Resource
    provider: gcp.Provider


class GkeWeightsAccess(pulumi.ComponentResource):
    """Lets ``<namespace>/vllm-<model>`` impersonate the model's reader (object read on its prefixes only).

    The binding lives on the reader service account, so each model's pods get exactly one model's weights.
    """

    bindings: list[gcp.serviceaccount.IAMMember]
    annotations: dict[str, pulumi.Output[dict[str, str]]]

    def __init__(self, name: str, args: GkeWeightsAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Bind every model's Kubernetes service account to its reader."""
        super().__init__("gpuinfra:gcp:GkeWeightsAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[args.cluster])
        self.bindings, self.annotations = [], {}
        for model, reader in args.readers.items():
            self.bindings.append(gcp.serviceaccount.IAMMember(
                f"{name}-{model}", service_account_id=reader.name, role="roles/iam.workloadIdentityUser",
                member=workload_identity_member(args.project, args.namespace, model), opts=child))
            self.annotations[model] = reader.email.apply(lambda e: {GSA_ANNOTATION: e})
        self.register_outputs({"annotations": self.annotations})
