"""VM-mode serving in one GCP region: firewall, API-key secret, health checks, per-pool MIGs, internal LB."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.gcp.instance_group import GpuInstanceGroup, GpuInstanceGroupArgs
from components.plan import gcp_access
from components.plan.bootstrap import DRAIN_SECONDS
from components.plan.gcp_rollout import GcpImagePin
from components.plan.gcp_vm_fleet import VmFleetPlan, VmPoolPlan
from components.secrets import vllm_api_key


@dataclass(frozen=True)
class VmServingFleetArgs:
    """Inputs of one region's VM-mode fleet.

    Attributes:
        fleet: The region's fleet plan (``GcpPlan.vm_fleets``): firewall, secret, per-pool boot and scaling.
        project: GCP project id; bucket: weights bucket name (plain: the startup script names it).
        network_id / subnet_self_link: The region's :class:`GcpNetwork`.
        image: The pinned Deep Learning VM image (``GcpPlan.vm_image``).
        reservations: Reservation name -> resource, for the reserved rungs' ``depends_on``.
    """

    fleet: VmFleetPlan
    project: str
    bucket: str
    network_id: pulumi.Input[str]
    subnet_self_link: pulumi.Input[str]
    provider: gcp.Provider
    image: GcpImagePin
    reservations: Mapping[str, pulumi.Resource] = field(default_factory=dict)


class VmServingFleet(pulumi.ComponentResource):
    """Serving without Kubernetes: GPU VMs in per-rung MIGs behind an internal passthrough load balancer on
    port 8000; only the LB's health checks and in-VPC clients reach vLLM; metrics only from monitoring."""

    address: pulumi.Output[str]
    api_key_secret: str

    def __init__(self, name: str, args: VmServingFleetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create the region's fleet."""
        super().__init__("gpuinfra:gcp:VmServingFleet", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        secret = self._create_secret(name)
        self._create_firewall(name)
        lb_check, heal_check = self._create_health_checks(name)
        image = self._image(name)
        groups = [self._create_pool(pool, secret, heal_check, image) for pool in args.fleet.pools]
        self.address = self._create_load_balancer(lb_check, groups)
        self.register_outputs({"address": self.address})

    def _image(self, name: str) -> str:
        """The pinned image's self link (looked up by name: a deleted pin fails the preview, not the boot); the
        family's newest image is only reported (stack output ``dlvm_image_<region>``), never booted by itself."""
        pin, opts = self._args.image, pulumi.InvokeOptions(provider=self._args.provider)
        pinned = gcp.compute.get_image(name=pin.name, project=pin.project, opts=opts)
        newest = gcp.compute.get_image_output(
            family=pin.family, project=pin.project,
            opts=pulumi.InvokeOutputOptions(parent=self, provider=self._args.provider)).name

        def report(latest: str) -> dict[str, object]:
            if latest != pin.name:
                pulumi.log.info(f"{name}: Deep Learning VM image {latest} is the newest of {pin.family} (running "
                                f"{pin.name}); adopt it by editing gcp.dlvm_image in "
                                "components/catalog/data/versions.yaml", self)
            return {"pinned": pin.name, "family": pin.family, "latest": latest, "update_available": latest != pin.name}

        pulumi.export(f"dlvm_image_{self._args.fleet.region.replace('-', '_')}", newest.apply(report))
        return pinned.self_link

    def _create_secret(self, name: str) -> gcp.secretmanager.Secret:
        fleet, region = self._args.fleet, self._args.fleet.region
        self.api_key_secret = fleet.api_key_secret
        # Replicated only in the serving region: the key never leaves where it is used.
        secret = gcp.secretmanager.Secret(
            f"{name}-api-key", secret_id=fleet.secret_id, project=self._args.project, labels=dict(fleet.labels),
            replication=gcp.secretmanager.SecretReplicationArgs(user_managed=gcp.secretmanager.SecretReplicationUserManagedArgs(
                replicas=[gcp.secretmanager.SecretReplicationUserManagedReplicaArgs(location=region)])),
            opts=self._child)
        gcp.secretmanager.SecretVersion(f"{name}-api-key-version", secret=secret.id, secret_data=vllm_api_key(),
                                        opts=self._child)
        return secret

    def _create_firewall(self, name: str) -> None:
        for rule in self._args.fleet.firewall:
            gcp.compute.Firewall(
                f"{name}-fw-{rule.role}", network=self._args.network_id, direction="INGRESS", description=rule.description,
                allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=[str(p) for p in rule.ports])],
                source_ranges=list(rule.source_ranges) or None, source_tags=list(rule.source_tags) or None,
                target_tags=[gcp_access.SERVING_TAG], opts=self._child)

    def _create_health_checks(self, name: str) -> tuple[gcp.compute.RegionHealthCheck, gcp.compute.RegionHealthCheck]:
        def check(role: str, interval: int, unhealthy: int) -> gcp.compute.RegionHealthCheck:
            return gcp.compute.RegionHealthCheck(
                f"{name}-{role}", region=self._args.fleet.region, check_interval_sec=interval, timeout_sec=5,
                healthy_threshold=2, unhealthy_threshold=unhealthy,
                http_health_check=gcp.compute.RegionHealthCheckHttpHealthCheckArgs(
                    port=gcp_access.SERVING_PORT, request_path="/health"), opts=self._child)
        # The LB drops a VM after 30 s of failures; autohealing recreates it only after 3 minutes of them
        # (Google's advice: a more conservative check for autohealing than for load balancing).
        return check("lb-health", 10, 3), check("autoheal-health", 30, 6)

    def _create_identity(self, plan: VmPoolPlan, secret: gcp.secretmanager.Secret) -> gcp.serviceaccount.Account:
        a, pool = self._args, plan.pool
        account = gcp.serviceaccount.Account(
            f"{pool.name}-vm", project=a.project, account_id=plan.account_id, display_name=plan.display_name,
            opts=self._child)
        member = account.email.apply(lambda e: f"serviceAccount:{e}")
        for role in gcp_access.VM_PROJECT_ROLES:
            gcp.projects.IAMMember(f"{pool.name}-vm-{role.split('/')[-1]}", project=a.project, role=role, member=member,
                                   opts=self._child)
        gcp.storage.BucketIAMMember(
            f"{pool.name}-vm-weights", bucket=a.bucket, role="roles/storage.objectViewer", member=member,
            condition=gcp.storage.BucketIAMMemberConditionArgs(**plan.reader_condition),
            opts=self._child)
        gcp.secretmanager.SecretIamMember(f"{pool.name}-vm-api-key", secret_id=secret.id, project=a.project,
                                          role="roles/secretmanager.secretAccessor", member=member, opts=self._child)
        return account

    def _create_pool(self, plan: VmPoolPlan, secret: gcp.secretmanager.Secret,
                     heal_check: gcp.compute.RegionHealthCheck, dlvm_image: str) -> GpuInstanceGroup:
        a, pool, ladder = self._args, plan.pool, plan.ladder
        region = a.fleet.region
        available = gcp.compute.get_zones(region=region, status="UP", opts=pulumi.InvokeOptions(provider=a.provider)).names
        zones = {r.tier: plan.zones[r.tier].resolve(list(available)) for r in ladder.rungs}
        account = self._create_identity(plan, secret)
        return GpuInstanceGroup(pool.name, GpuInstanceGroupArgs(
            pool=pool, ladder=ladder, shape=plan.shape,
            zones=zones, image=dlvm_image, subnetwork=a.subnet_self_link, service_account_email=account.email,
            startup_script=plan.startup_script, autoheal_health_check=heal_check.id,
            initial_delay_seconds=plan.initial_delay_seconds, scaling=dict(plan.scaling), provider=a.provider,
            rollouts={r.tier: plan.rollout(r, len(zones[r.tier])) for r in ladder.rungs},
            labels=dict(plan.labels),
            depends_on=[a.reservations[r] for r in {plan.reservation} if r in a.reservations]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret]))

    def _create_load_balancer(self, check: gcp.compute.RegionHealthCheck, groups: list[GpuInstanceGroup]) -> pulumi.Output[str]:
        a, region = self._args, self._args.fleet.region
        backends = [gcp.compute.RegionBackendServiceBackendArgs(group=ig, balancing_mode="CONNECTION")
                    for g in groups for ig in g.instance_groups]
        service = gcp.compute.RegionBackendService(
            f"serving-{region}-backend", region=region, load_balancing_scheme="INTERNAL", protocol="TCP",
            health_checks=check.id, backends=backends, connection_draining_timeout_sec=DRAIN_SECONDS, opts=self._child)
        # Named as the cost model prices it (``serving-ilb-<region>``).
        rule = gcp.compute.ForwardingRule(
            f"serving-ilb-{region}", region=region, load_balancing_scheme="INTERNAL", ip_protocol="TCP",
            ports=[str(gcp_access.SERVING_PORT)], backend_service=service.id, network=a.network_id,
            subnetwork=a.subnet_self_link, labels=dict(a.fleet.labels), opts=self._child)
        return rule.ip_address
