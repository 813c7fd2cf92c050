"""GkeCluster: a private regional GKE cluster with Workload Identity, a system pool and a Kubernetes provider."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.plan import gcp_access
from components.plan.gke_cluster import GkeMonitoringPlan, MasterWebhookPlan
from components.plan.gke_region import GkeClusterPlan

#: Node pool fields the cluster autoscaler changes: without ignore_changes an update would fight it. Wire
#: (camelCase) paths. Labels, taints and resource labels stay managed: the provider already suppresses what GKE
#: adds itself (terraform-provider-google v7.45.0 google/services/container/node_config.go:
#: containerNodePoolLabelsSuppress for GKE Sandbox's node labels, containerNodePoolResourceLabelsDiffSuppress
#: for "goog-gke" resource labels; GKE-applied taints land in the computed effective_taints, not in taint),
#: and ignoring them would hide real edits such as cost-label changes.
NODE_POOL_IGNORE_CHANGES = ["initialNodeCount", "nodeCount"]
SYSTEM_ZONES = 3  # the cost model prices system nodes per zone over three zones


@dataclass(frozen=True)
class GkeClusterArgs:
    """Inputs of :class:`GkeCluster`.

    Attributes:
        plan: The cluster's settings (``GkeRegionPlan.cluster``: name, node account, control plane, system pool).
        project: GCP project id.
        network_id / subnet_id / pods_range / services_range: The region's :class:`GcpNetwork`.
        zones: Zones of the region (``compute.getZones``); the system pool uses the first three.
        private_endpoint: Keep only the control plane's private endpoint, reachable from every region
            (``GcpPlan.private_endpoint``: the deployer runs in-network).
        monitoring: Metric packages and managed collection (``GcpPlan.gke_monitoring``).
        webhooks: Ports the control plane calls on pods (``GcpPlan.gke_webhooks``); None: no rule.
    """

    plan: GkeClusterPlan
    project: str
    network_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    pods_range: str
    services_range: str
    zones: list[str]
    provider: gcp.Provider
    labels: dict[str, str] = field(default_factory=dict)
    private_endpoint: bool = False
    monitoring: GkeMonitoringPlan = GkeMonitoringPlan(enable_components=("SYSTEM_COMPONENTS",), managed_prometheus=False)
    webhooks: MasterWebhookPlan | None = None


class GkeCluster(pulumi.ComponentResource):
    """Regional GKE Standard cluster: private nodes, Workload Identity, release channel, Dataplane V2
    (NetworkPolicy enforcement for the serving namespace), GCS FUSE CSI, optional managed Prometheus and
    DCGM metrics; the default pool is replaced by a small system pool; GPU pools are added per rung."""

    cluster: gcp.container.Cluster
    system_pool: gcp.container.NodePool
    provider: k8s.Provider
    node_service_account_email: pulumi.Output[str]
    webhook_firewall: gcp.compute.Firewall | None

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create the node identity, the cluster, its system pool and the Kubernetes provider."""
        super().__init__("gpuinfra:gcp:GkeCluster", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.node_service_account_email = self._create_node_identity(name)
        self.cluster = self._create_cluster(name)
        self.webhook_firewall = self._create_webhook_firewall(name)
        self.system_pool = self._create_system_pool(name)
        self.provider = self._create_provider(name)
        self.register_outputs({"endpoint": self.cluster.endpoint, "node_service_account": self.node_service_account_email})

    def _create_node_identity(self, name: str) -> pulumi.Output[str]:
        """A dedicated node service account (never the Compute Engine default with Editor)."""
        a = self._args
        account = gcp.serviceaccount.Account(
            f"{name}-nodes", project=a.project, account_id=a.plan.node_account_id,
            display_name=f"gpuinfra GKE nodes {a.plan.region}", opts=self._child)
        self._node_roles = [
            gcp.projects.IAMMember(f"{name}-nodes-{role.split('/')[-1]}", project=a.project, role=role,
                                   member=account.email.apply(lambda e: f"serviceAccount:{e}"), opts=self._child)
            for role in gcp_access.NODE_PROJECT_ROLES]
        return account.email

    def _create_cluster(self, name: str) -> gcp.container.Cluster:
        a, plan = self._args, self._args.plan
        authorized = (gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(cidr_blocks=[
            gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=c, display_name=f"cidr-{i}")
            for i, c in enumerate(plan.master_authorized_cidrs)]) if plan.master_authorized_cidrs else None)
        return gcp.container.Cluster(
            name, name=name, project=a.project, location=plan.region, network=a.network_id, subnetwork=a.subnet_id,
            networking_mode="VPC_NATIVE", datapath_provider="ADVANCED_DATAPATH",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=a.pods_range, services_secondary_range_name=a.services_range),
            # enablePrivateEndpoint: "the master's internal IP address is used as the cluster endpoint" (GKE API,
            # PrivateClusterConfig); global access lets one in-network runner reach every region's control plane.
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True, enable_private_endpoint=a.private_endpoint,
                master_global_access_config=gcp.container.ClusterPrivateClusterConfigMasterGlobalAccessConfigArgs(
                    enabled=True) if a.private_endpoint else None,
                master_ipv4_cidr_block=plan.master_cidr),
            master_authorized_networks_config=authorized,
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                workload_pool=f"{a.project}.svc.id.goog"),
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=plan.release_channel),
            min_master_version=plan.min_master_version,
            remove_default_node_pool=True, initial_node_count=1,
            # node_config configures the temporary default pool (pulumi-gcp 10.2.0 Cluster docs: "Parameters used
            # in creating the default node pool"): without it that pool runs as the Compute Engine default
            # service account, which many projects disable or delete, and cluster creation fails.
            node_config=gcp.container.ClusterNodeConfigArgs(
                service_account=self.node_service_account_email, oauth_scopes=[gcp_access.CLOUD_PLATFORM_SCOPE]),
            addons_config=gcp.container.ClusterAddonsConfigArgs(
                gcs_fuse_csi_driver_config=gcp.container.ClusterAddonsConfigGcsFuseCsiDriverConfigArgs(enabled=True)),
            monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
                enable_components=list(a.monitoring.enable_components),
                managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(
                    enabled=a.monitoring.managed_prometheus)),
            enable_shielded_nodes=True, resource_labels=a.labels,
            deletion_protection=plan.deletion_protection,
            # The removed default pool's settings are irrelevant after creation (and never replace a cluster).
            # Its nodes run as the node account: grant its roles first.
            opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
                ignore_changes=["nodeConfig", "initialNodeCount"], depends_on=self._node_roles)))

    def _create_webhook_firewall(self, name: str) -> gcp.compute.Firewall | None:
        """Ingress from the control plane's range to every node on the webhook ports the charts serve on.

        Private nodes admit the control plane only on 443 and 10250 (GKE's own rule); without this rule KEDA's
        admission webhooks and metrics apiserver (9443, 6443) time out and ScaledObjects never drive the HPA.
        Every node of the cluster runs as the node service account, so the rule targets that account.
        """
        hooks = self._args.webhooks
        if hooks is None or not hooks.ports:
            return None
        return gcp.compute.Firewall(
            f"{name}-master-webhooks", network=self._args.network_id, direction="INGRESS", priority=1000,
            source_ranges=[hooks.source_range], target_service_accounts=[self.node_service_account_email],
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=[str(p) for p in hooks.ports])],
            description="GKE control plane to admission webhooks / aggregated APIs: " + "; ".join(
                f"{port} {', '.join(why)}" for port, why in hooks.reasons.items()), opts=self._child)

    def _create_system_pool(self, name: str) -> gcp.container.NodePool:
        a, plan = self._args, self._args.plan
        return gcp.container.NodePool(
            plan.system_pool_name, cluster=self.cluster.id, location=plan.region,
            node_locations=a.zones[:SYSTEM_ZONES], initial_node_count=plan.system_nodes,
            autoscaling=gcp.container.NodePoolAutoscalingArgs(min_node_count=plan.system_nodes,
                                                             max_node_count=2 * plan.system_nodes),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=plan.system_machine_type, service_account=self.node_service_account_email,
                oauth_scopes=[gcp_access.CLOUD_PLATFORM_SCOPE], image_type="COS_CONTAINERD", disk_type="pd-balanced",
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True),
                labels={"gpuinfra.dev/pool": "system"}, resource_labels=a.labels),
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
                ignore_changes=NODE_POOL_IGNORE_CHANGES)))

    def _create_provider(self, name: str) -> k8s.Provider:
        kubeconfig = pulumi.Output.all(self.cluster.name, self.cluster.endpoint,
                                       self.cluster.master_auth.cluster_ca_certificate).apply(lambda v: _kubeconfig(*v))
        return k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, context=self.cluster.name,
                            enable_server_side_apply=True,
                            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster, self.system_pool]))


def _kubeconfig(cluster: str, endpoint: str, ca: str) -> str:
    """Kubeconfig authenticating with gke-gcloud-auth-plugin (short-lived tokens, nothing stored)."""
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": cluster,
        "clusters": [{"name": cluster, "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
        "users": [{"name": cluster, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "gke-gcloud-auth-plugin",
            "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
            "provideClusterInfo": True}}}],
    })
