"""What a cloud's cluster hands to the serving layer: one ``ClusterTarget`` per Kubernetes cluster."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.catalog.vocab import BUCKET_SCHEME, Cloud


@dataclass(frozen=True)
class ClusterTarget:
    """A Kubernetes cluster ready for the serving layer.

    Attributes:
        name: Cluster name (components.plan.names.cluster_name).
        cloud / region: Where it runs.
        provider: Kubernetes provider built from the cluster's outputs.
        cluster: The cluster resource (serving objects depend on it through the provider).
        pools: GPU pool names whose nodes join this cluster.
        weights_bucket: Bucket name holding ``<model>/<revision>/``.
        ready: Resources the serving layer must wait for (node groups, add-ons, identity bindings).
        reader_annotations: Per model name, annotations the model's ServiceAccount needs (GKE Workload
            Identity's ``iam.gke.io/gcp-service-account``); EKS Pod Identity needs none.
        keda_gcp_service_account: Google service account KEDA's operator impersonates (GKE with managed
            Prometheus; the plan's ``keda_gcp_roles``), else None.
    """

    name: str
    cloud: Cloud
    region: str
    provider: k8s.Provider
    cluster: pulumi.Resource
    pools: tuple[str, ...]
    weights_bucket: pulumi.Output[str]
    ready: tuple[pulumi.Resource, ...] = ()
    reader_annotations: dict[str, pulumi.Output[dict[str, str]]] = field(default_factory=dict)
    keda_gcp_service_account: pulumi.Output[str] | None = None

    @property
    def weights_scheme(self) -> str:
        """URI scheme of the weights bucket: ``s3`` or ``gs``."""
        return BUCKET_SCHEME[self.cloud]
