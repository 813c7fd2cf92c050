"""GcpNetwork: one region's VPC cell: custom-mode VPC, subnet with GKE ranges, Cloud Router and Cloud NAT."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.plan.gcp_plan import GcpNetworkPlan

PODS_RANGE = "pods"
SERVICES_RANGE = "services"


@dataclass(frozen=True)
class GcpNetworkArgs:
    """Inputs of :class:`GcpNetwork`.

    Attributes:
        region: Region of the subnet, router and NAT.
        plan: The CIDRs (``gcp.network``, planned).
        provider: GCP provider of ``region`` (networks, subnets and routers take no labels).
    """

    region: str
    plan: GcpNetworkPlan
    provider: gcp.Provider


class GcpNetwork(pulumi.ComponentResource):
    """A VPC per region (like the AWS side's VPC per region): regions share no routes, so every region
    reuses the same CIDR plan; nodes have no external IPs and reach Google APIs (the weights bucket)
    through Private Google Access and the internet (image registries) through Cloud NAT."""

    network_id: pulumi.Output[str]
    network_self_link: pulumi.Output[str]
    subnet_id: pulumi.Output[str]
    subnet_self_link: pulumi.Output[str]
    subnet_cidr: str
    pods_range: str
    services_range: str

    def __init__(self, name: str, args: GcpNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create the VPC, its subnet, router and NAT."""
        super().__init__("gpuinfra:gcp:GcpNetwork", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        network = self._create_network(name)
        subnet = self._create_subnet(name, network)
        self._create_nat(name, network)
        self.network_id, self.network_self_link = network.id, network.self_link
        self.subnet_id, self.subnet_self_link = subnet.id, subnet.self_link
        self.subnet_cidr = args.plan.subnet_cidr
        self.pods_range, self.services_range = PODS_RANGE, SERVICES_RANGE
        self.register_outputs({"network_id": self.network_id, "subnet_id": self.subnet_id})

    def _create_network(self, name: str) -> gcp.compute.Network:
        return gcp.compute.Network(f"{name}-network", auto_create_subnetworks=False, routing_mode="REGIONAL",
                                   description="gpuinfra GPU serving network", opts=self._child)

    def _create_subnet(self, name: str, network: gcp.compute.Network) -> gcp.compute.Subnetwork:
        spec = self._args.plan
        return gcp.compute.Subnetwork(
            f"{name}-subnet", network=network.id, region=self._args.region, ip_cidr_range=spec.subnet_cidr,
            # Weights come from GCS over Google's network, not through NAT.
            private_ip_google_access=True,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=PODS_RANGE, ip_cidr_range=spec.pods_cidr),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=SERVICES_RANGE,
                                                           ip_cidr_range=spec.services_cidr),
            ],
            opts=self._child)

    def _create_nat(self, name: str, network: gcp.compute.Network) -> gcp.compute.RouterNat:
        router = gcp.compute.Router(f"{name}-router", network=network.id, region=self._args.region, opts=self._child)
        return gcp.compute.RouterNat(
            f"{name}-nat", router=router.name, region=self._args.region, nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"), opts=self._child)
