"""GkeComputeClass: one GKE pool's ladder as a custom ComputeClass over its per-rung node pools."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.plan.compute_class import ComputeClassPlan, compute_class_manifest


@dataclass(frozen=True)
class GkeComputeClassArgs:
    """Inputs of :class:`GkeComputeClass`.

    Attributes:
        plan: The class (``GcpPlan.compute_classes[pool]``): name and rung order.
        node_pools: Tier -> the rung's node pool (``GkeGpuNodePool.node_pools``).
        provider: The cluster's Kubernetes provider.
    """

    plan: ComputeClassPlan
    node_pools: Mapping[str, gcp.container.NodePool]
    provider: k8s.Provider


class GkeComputeClass(pulumi.ComponentResource):
    """A ``ComputeClass`` whose priorities name the pool's node pools in ladder order (reserved, on-demand floor,
    spot or flex-start burst, on-demand fallback); the serving pods select it, so GKE's autoscaler scales the
    preferred rung first and migrates pods back up when it can."""

    compute_class: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: GkeComputeClassArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create the ComputeClass once its node pools exist (their GKE names fill the priorities)."""
        super().__init__("gpuinfra:gcp:GkeComputeClass", name, None, opts)
        self._args = args
        self.compute_class = self._create_compute_class(name)
        self.register_outputs({"name": args.plan.name})

    def _create_compute_class(self, name: str) -> k8s.apiextensions.CustomResource:
        a = self._args
        pools = [a.node_pools[tier] for tier in a.plan.tiers]
        # The priorities name the pools as GKE knows them: the node pools' own name outputs (Pulumi auto-names
        # node pools). Only those names are unknown at preview; the rest of the spec stays literal for the
        # policy pack (compute-class-ladder-only).
        doc = compute_class_manifest(a.plan, [p.name for p in pools])
        return k8s.apiextensions.CustomResource(
            f"{name}-compute-class", api_version=doc["apiVersion"], kind=doc["kind"], metadata=doc["metadata"],
            spec=doc["spec"], opts=pulumi.ResourceOptions(parent=self, provider=a.provider, depends_on=pools))
