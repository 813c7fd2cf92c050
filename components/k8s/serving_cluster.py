"""ServingCluster: what one cluster needs before any model: namespace, NetworkPolicies, GPU software, KEDA."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.catalog.versions import chart
from components.k8s.manifests import charts, network
from components.k8s.manifests.autoscaling import trigger_authentication
from components.k8s.manifests.names import PART_OF
from components.k8s.target import ClusterTarget
from components.plan.kubernetes_plan import KEDA_NAMESPACE
from components.plan.serving_layer import ServingLayerPlan
from components.catalog.vocab import AWS, GCP

TOKEN = "gpuinfra:k8s:ServingCluster"


@dataclass(frozen=True)
class ServingClusterArgs:
    """One cluster target of the stack, its serving-layer plan and the monitoring namespace the policies admit."""

    layer: ServingLayerPlan
    target: ClusterTarget
    monitoring_namespace: str | None
    """Namespace Prometheus runs in (None: monitoring disabled, no scrape ingress)."""


class ServingCluster(pulumi.ComponentResource):
    """The serving namespace with default-deny NetworkPolicies, the NVIDIA device plugin (EKS only) and KEDA."""

    namespace: k8s.core.v1.Namespace
    device_plugin: k8s.helm.v3.Release | None
    keda: k8s.helm.v3.Release | None
    keda_auth: str | None
    """TriggerAuthentication name ScaledObjects use (GKE managed Prometheus), else None."""

    def __init__(self, name: str, args: ServingClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, {}, opts)
        self._name, self._layer, self._target = name, args.layer, args.target
        self.namespace = self._create_namespace()
        self._create_network_policies(args)
        self.device_plugin = self._create_device_plugin()
        self.keda = self._create_keda()
        self.keda_auth = self._create_keda_auth(args.layer.managed_prometheus)
        self.register_outputs({"namespace": self._layer.namespace})

    def _opts(self, *depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, *self._target.ready])

    def _create_namespace(self) -> k8s.core.v1.Namespace:
        # Pod Security Admission: vLLM pods are built for "restricted"; warn/audit at that level. Enforce
        # "baseline" on GKE; EKS pods mount the node's NVMe cache through hostPath, which baseline forbids.
        labels = {PART_OF: "gpuinfra", "pod-security.kubernetes.io/warn": "restricted",
                  "pod-security.kubernetes.io/audit": "restricted"}
        if self._target.cloud == GCP:
            labels["pod-security.kubernetes.io/enforce"] = "baseline"
        return k8s.core.v1.Namespace(f"{self._name}-namespace", metadata={"name": self._layer.namespace,
                                     "labels": labels}, opts=self._opts())

    def _create_network_policies(self, args: ServingClusterArgs) -> list[k8s.networking.v1.NetworkPolicy]:
        provider = "gke-managed" if args.layer.managed_prometheus else "self-managed"
        policies = network.network_policies(self._layer.namespace, args.monitoring_namespace, provider,
                                            self._layer.exposure.exposure, self._target.cloud)
        return [k8s.networking.v1.NetworkPolicy(f"{self._name}-netpol-{p['metadata']['name']}",
                                                metadata=p["metadata"], spec=p["spec"], opts=self._opts(self.namespace))
                for p in policies]

    def _release(self, role: str, key: str, namespace: str, values: dict) -> k8s.helm.v3.Release:
        pinned = chart(key)
        return k8s.helm.v3.Release(
            f"{self._name}-{role}", name=role, chart=pinned.chart, version=pinned.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=pinned.repo), namespace=namespace,
            create_namespace=True, atomic=True, values=values, opts=self._opts())

    def _create_device_plugin(self) -> k8s.helm.v3.Release | None:
        # GKE installs the driver (gpu_driver_installation_config) and runs its own device plugin.
        if self._target.cloud != AWS:
            return None
        return self._release("nvidia-device-plugin", "nvidia-device-plugin", charts.DEVICE_PLUGIN_NAMESPACE,
                             charts.device_plugin_values())

    def _create_keda(self) -> k8s.helm.v3.Release | None:
        if not self._layer.keda:
            return None
        return self._release("keda", "keda", KEDA_NAMESPACE,
                             charts.keda_values(self._target.keda_gcp_service_account))

    def _create_keda_auth(self, managed: bool) -> str | None:
        if not (managed and self.keda):
            return None
        doc = trigger_authentication(self._layer.namespace)
        k8s.apiextensions.CustomResource(
            f"{self._name}-keda-gmp-auth", api_version=doc["apiVersion"], kind=doc["kind"], metadata=doc["metadata"],
            spec=doc["spec"], opts=self._opts(self.keda, self.namespace))
        return doc["metadata"]["name"]
