"""GkeGpuNodePool: one pool's ladder as GKE node pools (one per rung) with drivers, NVMe, labels and taints."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.catalog.vocab import TAINT_EFFECT_API
from components.gcp.cluster import NODE_POOL_IGNORE_CHANGES
from components.gcp.instance_template import RESERVATION_KEY
from components.plan import gcp_access, names
from components.plan.compute_class import ComputeClassPlan
from components.plan.gcp_rollout import delete_before_replace
from components.plan.gcp_shapes import GcpPoolSettings, GcpShape, gcp_version, nodes_per_zone
from components.plan.ladder import LadderPlan, Rung
from components.plan.scheduling import GPU_TAINT, node_labels

#: Kubernetes taint effects as the GKE API spells them.


@dataclass(frozen=True)
class GkeGpuNodePoolArgs:
    """Inputs of :class:`GkeGpuNodePool`.

    Attributes:
        pool / ladder / shape: The pool, its rungs and its node shape (``gcp_shapes.node_shape``).
        gpu: Catalog GPU name (node label ``gpuinfra.dev/gpu``, the serving layer's selector).
        cluster_id: The GKE cluster; region: its location.
        zones: Zones per rung tier (``gcp_shapes.rung_zones``).
        service_account_email: The cluster's node service account.
        depends_on: Reservations the reserved rung consumes.
        compute_class: The pool's ComputeClass: every rung's nodes carry its label and taint (None: no class).
    """

    pool: GcpPoolSettings
    ladder: LadderPlan
    shape: GcpShape
    gpu: str
    cluster_id: pulumi.Input[str]
    region: str
    zones: Mapping[str, list[str]]
    service_account_email: pulumi.Input[str]
    provider: gcp.Provider
    labels: dict[str, str] = field(default_factory=dict)
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    compute_class: ComputeClassPlan | None = None


class GkeGpuNodePool(pulumi.ComponentResource):
    """GKE node pools named ``rung_name(pool, tier)``: reserved (SPECIFIC_RESERVATION), on-demand floor,
    spot (or flex-start) burst and on-demand fallback; the GKE cluster autoscaler sizes each between
    the rung's bounds."""

    node_pools: dict[str, gcp.container.NodePool]

    def __init__(self, name: str, args: GkeGpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create one node pool per rung."""
        super().__init__("gpuinfra:gcp:GkeGpuNodePool", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.node_pools = {rung.tier: self._create_node_pool(rung) for rung in args.ladder.rungs}
        self.register_outputs({"node_pools": [p.name for p in self.node_pools.values()]})

    def _create_node_pool(self, rung: Rung) -> gcp.container.NodePool:
        a = self._args
        zones = list(a.zones[rung.tier])
        opts = pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
            ignore_changes=NODE_POOL_IGNORE_CHANGES, depends_on=a.depends_on if rung.reservation else None,
            # The old reserved nodes hold the whole reservation: a replacement created first gets no capacity.
            delete_before_replace=delete_before_replace(rung)))
        return gcp.container.NodePool(
            names.rung_name(a.pool.name, rung.tier), cluster=a.cluster_id, location=a.region, node_locations=zones,
            initial_node_count=nodes_per_zone(rung.min_nodes, zones),
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=rung.min_nodes, total_max_node_count=rung.max_nodes,
                # Bursts take capacity wherever it exists; floors spread across zones.
                location_policy="ANY" if a.pool.provisioning[rung.tier] != "STANDARD" else "BALANCED"),
            node_config=self._node_config(rung),
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            upgrade_settings=self._upgrade_settings(rung), opts=opts)

    def _node_config(self, rung: Rung) -> gcp.container.NodePoolNodeConfigArgs:
        a, model = self._args, self._args.pool.provisioning[rung.tier]
        run = a.pool.max_run[rung.tier]
        return gcp.container.NodePoolNodeConfigArgs(
            machine_type=a.shape.machine_type, image_type="COS_CONTAINERD", disk_type="pd-balanced",
            disk_size_gb=a.pool.root_volume_gib,
            guest_accelerators=[gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
                type=a.shape.accelerator, count=a.shape.gpu_count,
                # GKE installs and upgrades the driver itself (no device-plugin driver container needed).
                gpu_driver_installation_config=gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                    gpu_driver_version=gcp_version("gke_gpu_driver_version")))],
            spot=model == "SPOT", flex_start=True if model == "FLEX_START" else None,
            max_run_duration=f"{run}s" if run else None,
            reservation_affinity=self._reservation_affinity(rung, model),
            # Local SSDs back the kubelet root and emptyDir: the serving layer's weight cache lives there.
            ephemeral_storage_local_ssd_config=(
                gcp.container.NodePoolNodeConfigEphemeralStorageLocalSsdConfigArgs(local_ssd_count=a.shape.local_ssd_count)
                if a.shape.local_ssd_count else None),
            # gVNIC on every GPU pool (COS supports it on all GPU nodes); the series with nic_type GVNIC
            # (A3, catalog gvnic_required) cannot boot without it.
            gvnic=gcp.container.NodePoolNodeConfigGvnicArgs(enabled=True),
            labels={**node_labels(a.pool.name, rung.tier, a.gpu), **(a.compute_class.node_label if a.compute_class else {})},
            taints=[gcp.container.NodePoolNodeConfigTaintArgs(key=t["key"], value=t["value"], effect=TAINT_EFFECT_API[t["effect"]])
                    for t in [GPU_TAINT, *([a.compute_class.taint] if a.compute_class else [])]],
            workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
            service_account=a.service_account_email, oauth_scopes=[gcp_access.CLOUD_PLATFORM_SCOPE],
            shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                enable_secure_boot=True, enable_integrity_monitoring=True),
            resource_labels={**a.labels, "gpuinfra-pool": a.pool.name, "capacity-tier": rung.tier})

    def _reservation_affinity(self, rung: Rung, model: str) -> gcp.container.NodePoolNodeConfigReservationAffinityArgs:
        if rung.reservation:
            return gcp.container.NodePoolNodeConfigReservationAffinityArgs(
                consume_reservation_type="SPECIFIC_RESERVATION", key=RESERVATION_KEY, values=[rung.reservation])
        # Spot / flex-start nodes cannot consume reservations; on-demand nodes may use any open one.
        kind = "ANY_RESERVATION" if model == "STANDARD" else "NO_RESERVATION"
        return gcp.container.NodePoolNodeConfigReservationAffinityArgs(consume_reservation_type=kind)

    def _upgrade_settings(self, rung: Rung) -> gcp.container.NodePoolUpgradeSettingsArgs:
        # A reservation has no spare VM for a surge node: replace in place. Elsewhere surge one node so
        # serving capacity does not dip during upgrades.
        surge, unavailable = (0, 1) if rung.reservation else (1, 0)
        return gcp.container.NodePoolUpgradeSettingsArgs(strategy="SURGE", max_surge=surge, max_unavailable=unavailable)
