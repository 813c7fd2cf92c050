"""VllmService: one model on one GPU pool of one cluster (stable + optional canary track)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.k8s.manifests import access, autoscaling, workload
from components.k8s.manifests.names import common_labels, workload_name
from components.plan.workloads import WorkloadPlan
from components.k8s.serving_cluster import ServingCluster
from components.k8s.target import ClusterTarget
from components.plan.scheduling import serving_service_account
from components.plan.serving_layer import ServingLayerPlan
from components.secrets import hf_token, vllm_api_key

TOKEN = "gpuinfra:k8s:VllmService"
SYNC_SCRIPT = Path(__file__).resolve().parent / "sync_weights.py"


@dataclass(frozen=True)
class VllmServiceArgs:
    """Inputs of one VllmService."""

    layer: ServingLayerPlan
    """The cluster's serving layer (exposure, the model's autoscaler settings)."""
    target: ClusterTarget
    cluster: ServingCluster
    stable: WorkloadPlan
    canary: WorkloadPlan | None = None
    monitoring: Any = None
    """The cluster's GpuMonitoring (``operator``, ``service_monitor_labels``, ``prometheus_url``, ``managed``)."""
    owns_service_account: bool = True
    """False for the second pool of a model in the same cluster (one ServiceAccount per model)."""


class VllmService(pulumi.ComponentResource):
    """ServiceAccount, keys Secret, Deployments, Services, PDBs, autoscaler and scrape object.

    The canary's traffic share is the ModelRouter's (the plan refuses a canary on Kubernetes without it).
    """

    deployment: k8s.apps.v1.Deployment
    service_name: str
    """The stable Service the router targets (port 8000)."""

    def __init__(self, name: str, args: VllmServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, {}, opts)
        self._name, self._args, w = name, args, args.stable
        self.service_name = workload_name(w.model, w.pool)
        account = self._create_service_account()
        keys = self._create_keys_secret()
        script = self._create_sync_script()
        self.deployment = self._create_track(w, [x for x in (account, keys, script) if x])
        if args.canary:
            self._create_track(args.canary, [x for x in (account, keys, script) if x])
        self._create_exposure()
        self._create_autoscaler()
        self._create_scrape()
        self.register_outputs({"service_name": self.service_name})

    def _opts(self, *depends_on: pulumi.Resource | None, **kwargs: Any) -> pulumi.ResourceOptions:
        deps = [d for d in depends_on if d is not None]
        return pulumi.ResourceOptions(parent=self, depends_on=[self._args.cluster.namespace, *deps], **kwargs)

    def _meta(self, name: str, canary: bool = False) -> dict:
        w = self._args.stable
        return {"name": name, "namespace": w.namespace, "labels": common_labels(w.model, w.pool, canary)}

    def _create_service_account(self) -> k8s.core.v1.ServiceAccount | None:
        if not self._args.owns_service_account:
            return None
        w = self._args.stable
        annotations = self._args.target.reader_annotations.get(w.model)  # GKE Workload Identity
        meta = {**self._meta(serving_service_account(w.model)), "annotations": annotations or {}}
        return k8s.core.v1.ServiceAccount(f"{self._name}-service-account", metadata=meta,
                                          automount_service_account_token=False, opts=self._opts())

    def _create_keys_secret(self) -> k8s.core.v1.Secret:
        # Values only as Pulumi secret Outputs: state stores them encrypted and the runner redacts them.
        data = {workload.API_KEY: vllm_api_key()}
        token = hf_token()
        if token is not None:
            data[workload.HF_TOKEN] = token
        return k8s.core.v1.Secret(f"{self._name}-keys", metadata=self._meta(workload.secret_name(self._args.stable)),
                                  type="Opaque", string_data=data, opts=self._opts())

    def _script_name(self) -> str:
        return f"{self.service_name[:50]}-weights-sync"

    def _create_sync_script(self) -> k8s.core.v1.ConfigMap | None:
        if self._args.stable.load_format != "nvme-cache":
            return None
        return k8s.core.v1.ConfigMap(f"{self._name}-weights-sync", metadata=self._meta(self._script_name()),
                                     data={"sync_weights.py": SYNC_SCRIPT.read_text()}, opts=self._opts())

    def _create_track(self, w: WorkloadPlan, deps: list[pulumi.Resource]) -> k8s.apps.v1.Deployment:
        track = "canary" if w.canary else "stable"
        doc = workload.deployment(w, self._args.target.weights_bucket, self._script_name())
        # The autoscaler owns spec.replicas of the stable track once it runs; Pulumi must not reset it.
        ignore = [] if w.fixed_replicas else ["spec.replicas"]
        deployment = k8s.apps.v1.Deployment(f"{self._name}-{track}", metadata=doc["metadata"], spec=doc["spec"],
                                            opts=self._opts(*deps, ignore_changes=ignore))
        svc = access.service(w)
        k8s.core.v1.Service(f"{self._name}-{track}-service", metadata=svc["metadata"], spec=svc["spec"], opts=self._opts())
        pdb = access.disruption_budget(w)
        k8s.policy.v1.PodDisruptionBudget(f"{self._name}-{track}-pdb", metadata=pdb["metadata"], spec=pdb["spec"],
                                          opts=self._opts())
        return deployment

    def _create_exposure(self) -> None:
        exposure = self._args.layer.service_exposure
        if exposure is None:
            return  # the router is the one endpoint (keys, rate limits): no per-model load balancer bypasses it
        lb = access.exposed_service(self._args.stable, exposure)
        if lb:
            k8s.core.v1.Service(f"{self._name}-load-balancer", metadata=lb["metadata"], spec=lb["spec"], opts=self._opts())
        ingress = access.public_ingress(self._args.stable, exposure)
        if ingress:
            k8s.networking.v1.Ingress(f"{self._name}-ingress", metadata=ingress["metadata"], spec=ingress["spec"],
                                      opts=self._opts())

    def _create_autoscaler(self) -> None:
        # Both autoscalers read vLLM's queue from Prometheus: without monitoring the replica count stays fixed.
        monitoring, w = self._args.monitoring, self._args.stable
        settings = self._args.layer.autoscalers[w.model]
        if monitoring is None:
            return
        cluster = self._args.cluster
        if cluster.keda is not None:
            doc = autoscaling.scaled_object(w, settings, monitoring.prometheus_url, cluster.keda_auth)
            self._custom("scaled-object", doc, cluster.keda)  # CRDs come with the release
            return
        hpa = autoscaling.horizontal_pod_autoscaler(w, settings)
        k8s.autoscaling.v2.HorizontalPodAutoscaler(f"{self._name}-hpa", metadata=hpa["metadata"], spec=hpa["spec"],
                                                   opts=self._opts(self.deployment))

    def _create_scrape(self) -> None:
        monitoring, w = self._args.monitoring, self._args.stable
        if monitoring is None:
            return
        if monitoring.managed:
            self._custom("pod-monitoring", access.pod_monitoring(w), monitoring.operator)
        else:
            self._custom("service-monitor", access.service_monitor(w, monitoring.service_monitor_labels),
                         monitoring.operator)

    def _custom(self, role: str, doc: dict, *depends_on: pulumi.Resource | None) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            f"{self._name}-{role}", api_version=doc["apiVersion"], kind=doc["kind"], metadata=doc["metadata"],
            spec=doc["spec"], opts=self._opts(*depends_on))
