"""VM-mode serving in one GCP region: firewall, API-key secret, health checks, per-pool MIGs, internal LB."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.catalog.versions import image, vllm_image
from components.gcp.instance_group import GpuInstanceGroup, GpuInstanceGroupArgs
from components.plan import gcp_access, names
from components.plan.bootstrap import (DRAIN_SECONDS, GCE_MAX_AUTOHEAL_DELAY_SECONDS, VmBootstrap,
                                      health_check_grace_seconds, vm_startup_script)
from components.plan.gcp_rollout import GcpImagePin, mig_rollout
from components.plan.vm_autoscaling import queue_scaling
from components.plan.gcp_shapes import node_shape, rung_zones, service_account_id
from components.plan.basis import PlanBasis
from components.plan.tags import cost_labels
from components.secrets import vllm_api_key
from components.spec import StackSpec
from components.spec.capacity import GpuPoolSpec
from components.spec.models import ModelSpec


@dataclass(frozen=True)
class VmServingFleetArgs:
    """Inputs of one region's VM-mode fleet.

    Attributes:
        project: GCP project id; bucket: weights bucket name (plain: the startup script names it).
        network_id / subnet_self_link / subnet_cidr: The region's :class:`GcpNetwork`.
        image: The pinned Deep Learning VM image (``GcpPlan.vm_image``).
        reservation_headroom: Reservation name -> spare VMs (``GcpPlan.reservation_headroom``).
        metrics_groups: Pool name -> its VMs' metrics group (``GcpPlan.metrics_groups``).
        reservations: Reservation name -> resource, for the reserved rungs' ``depends_on``.
    """

    spec: StackSpec
    basis: PlanBasis
    region: str
    project: str
    bucket: str
    network_id: pulumi.Input[str]
    subnet_self_link: pulumi.Input[str]
    subnet_cidr: str
    provider: gcp.Provider
    image: GcpImagePin
    reservation_headroom: Mapping[str, int] = field(default_factory=dict)
    metrics_groups: Mapping[str, str] = field(default_factory=dict)
    reservations: Mapping[str, pulumi.Resource] = field(default_factory=dict)


def vm_pools(spec: StackSpec, region: str) -> list[GpuPoolSpec]:
    """The region's GCP pools, in configuration order."""
    return [p for p in (spec.gcp.gpu_pools if spec.gcp else []) if spec.pool_region("gcp", p) == region]


def pool_model(spec: StackSpec, pool: GpuPoolSpec) -> ModelSpec:
    """The one model a VM-mode pool serves (spec checks refuse zero or several)."""
    return next(m for m in spec.models if pool.name in m.pools)


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
        groups = [self._create_pool(pool, secret, heal_check, image) for pool in vm_pools(args.spec, args.region)]
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

        pulumi.export(f"dlvm_image_{self._args.region.replace('-', '_')}", newest.apply(report))
        return pinned.self_link

    def _create_secret(self, name: str) -> gcp.secretmanager.Secret:
        spec, region = self._args.spec, self._args.region
        secret_id = f"gpuinfra-{spec.environment}-vllm-api-key-{region}"
        self.api_key_secret = f"projects/{self._args.project}/secrets/{secret_id}"
        # Replicated only in the serving region: the key never leaves where it is used.
        secret = gcp.secretmanager.Secret(
            f"{name}-api-key", secret_id=secret_id, project=self._args.project, labels=cost_labels(spec),
            replication=gcp.secretmanager.SecretReplicationArgs(user_managed=gcp.secretmanager.SecretReplicationUserManagedArgs(
                replicas=[gcp.secretmanager.SecretReplicationUserManagedReplicaArgs(location=region)])),
            opts=self._child)
        gcp.secretmanager.SecretVersion(f"{name}-api-key-version", secret=secret.id, secret_data=vllm_api_key(),
                                        opts=self._child)
        return secret

    def _create_firewall(self, name: str) -> None:
        for rule in gcp_access.vm_firewall_rules(self._args.spec, self._args.subnet_cidr):
            gcp.compute.Firewall(
                f"{name}-fw-{rule.role}", network=self._args.network_id, direction="INGRESS", description=rule.description,
                allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=[str(p) for p in rule.ports])],
                source_ranges=list(rule.source_ranges) or None, source_tags=list(rule.source_tags) or None,
                target_tags=[gcp_access.SERVING_TAG], opts=self._child)

    def _create_health_checks(self, name: str) -> tuple[gcp.compute.RegionHealthCheck, gcp.compute.RegionHealthCheck]:
        def check(role: str, interval: int, unhealthy: int) -> gcp.compute.RegionHealthCheck:
            return gcp.compute.RegionHealthCheck(
                f"{name}-{role}", region=self._args.region, check_interval_sec=interval, timeout_sec=5,
                healthy_threshold=2, unhealthy_threshold=unhealthy,
                http_health_check=gcp.compute.RegionHealthCheckHttpHealthCheckArgs(
                    port=gcp_access.SERVING_PORT, request_path="/health"), opts=self._child)
        # The LB drops a VM after 30 s of failures; autohealing recreates it only after 3 minutes of them
        # (Google's advice: a more conservative check for autohealing than for load balancing).
        return check("lb-health", 10, 3), check("autoheal-health", 30, 6)

    def _create_identity(self, pool: GpuPoolSpec, model: ModelSpec, secret: gcp.secretmanager.Secret) -> gcp.serviceaccount.Account:
        a, spec = self._args, self._args.spec
        account = gcp.serviceaccount.Account(
            f"{pool.name}-vm", project=a.project, account_id=service_account_id("vm", spec.environment, pool.name),
            display_name=f"gpuinfra {spec.environment}: {pool.name} serving VMs", opts=self._child)
        member = account.email.apply(lambda e: f"serviceAccount:{e}")
        for role in gcp_access.VM_PROJECT_ROLES:
            gcp.projects.IAMMember(f"{pool.name}-vm-{role.split('/')[-1]}", project=a.project, role=role, member=member,
                                   opts=self._child)
        gcp.storage.BucketIAMMember(
            f"{pool.name}-vm-weights", bucket=a.bucket, role="roles/storage.objectViewer", member=member,
            condition=gcp.storage.BucketIAMMemberConditionArgs(**gcp_access.reader_condition(a.bucket, model)),
            opts=self._child)
        gcp.secretmanager.SecretIamMember(f"{pool.name}-vm-api-key", secret_id=secret.id, project=a.project,
                                          role="roles/secretmanager.secretAccessor", member=member, opts=self._child)
        return account

    def _create_pool(self, pool: GpuPoolSpec, secret: gcp.secretmanager.Secret, heal_check: gcp.compute.RegionHealthCheck,
                     dlvm_image: str) -> GpuInstanceGroup:
        a, spec = self._args, self._args.spec
        model = pool_model(spec, pool)
        plan = a.basis.serving_plan(model.name, pool.name)
        ladder = a.basis.ladder(pool.name)
        available = gcp.compute.get_zones(region=a.region, status="UP", opts=pulumi.InvokeOptions(provider=a.provider)).names
        zones = {r.tier: rung_zones(a.basis, pool, r, a.region, list(available)) for r in ladder.rungs}
        delay = health_check_grace_seconds(plan.weights_gib)
        script = vm_startup_script(VmBootstrap(
            cloud="gcp", model=model.name, weights_uri=f"gs://{a.bucket}/{names.model_prefix(model.name, model.revision)}",
            engine_args=plan.engine_args, vllm_image=vllm_image(), dcgm_exporter_image=image("dcgm_exporter"),
            node_exporter_image=image("node_exporter"), api_key_secret=self.api_key_secret, region=a.region,
            metrics_group=a.metrics_groups[pool.name]))
        account = self._create_identity(pool, model, secret)
        return GpuInstanceGroup(pool.name, GpuInstanceGroupArgs(
            pool=pool, ladder=ladder, shape=node_shape(a.basis, pool),
            zones=zones, image=dlvm_image, subnetwork=a.subnet_self_link, service_account_email=account.email,
            startup_script=script, autoheal_health_check=heal_check.id, initial_delay_seconds=delay,
            scaling={r.tier: queue_scaling(ladder, r, model.name, a.metrics_groups[pool.name],
                                           plan.queue_depth_target) for r in ladder.rungs if r.autoscaled},
            provider=a.provider,
            rollouts={r.tier: mig_rollout(r, len(zones[r.tier]), a.reservation_headroom.get(r.reservation or "", 0),
                                          min(delay, GCE_MAX_AUTOHEAL_DELAY_SECONDS)) for r in ladder.rungs},
            labels=cost_labels(spec, model=model.name),
            depends_on=[a.reservations[r] for r in {pool.capacity.reservation} if r in a.reservations]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret]))

    def _create_load_balancer(self, check: gcp.compute.RegionHealthCheck, groups: list[GpuInstanceGroup]) -> pulumi.Output[str]:
        a = self._args
        backends = [gcp.compute.RegionBackendServiceBackendArgs(group=ig, balancing_mode="CONNECTION")
                    for g in groups for ig in g.instance_groups]
        service = gcp.compute.RegionBackendService(
            f"serving-{a.region}-backend", region=a.region, load_balancing_scheme="INTERNAL", protocol="TCP",
            health_checks=check.id, backends=backends, connection_draining_timeout_sec=DRAIN_SECONDS, opts=self._child)
        # Named as the cost model prices it (``serving-ilb-<region>``).
        rule = gcp.compute.ForwardingRule(
            f"serving-ilb-{a.region}", region=a.region, load_balancing_scheme="INTERNAL", ip_protocol="TCP",
            ports=[str(gcp_access.SERVING_PORT)], backend_service=service.id, network=a.network_id,
            subnetwork=a.subnet_self_link, labels=cost_labels(a.spec), opts=self._child)
        return rule.ip_address
