"""GpuInstanceTemplate: the VM-mode template of one ladder rung (GPU, scheduling, NVMe, identity, startup)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.plan import gcp_access
from components.plan.gcp_shapes import GcpShape, Provisioning
from components.plan.storage import GCP_LOCAL_SSD_GB

RESERVATION_KEY = "compute.googleapis.com/reservation-name"


@dataclass(frozen=True)
class GpuInstanceTemplateArgs:
    """Inputs of :class:`GpuInstanceTemplate`.

    Attributes:
        shape: Machine type, accelerator and local SSD count (``gcp_shapes.node_shape``).
        provisioning: STANDARD (reserved / on-demand), SPOT or FLEX_START.
        max_run_seconds: FLEX_START run limit, else None.
        reservation: Reservation name the reserved rung consumes (SPECIFIC_RESERVATION), else None.
        image: Self link of the dated Deep Learning VM image (resolved from the pinned family).
        boot_disk_gib: Boot disk size (the serving image is multi-GB).
        subnetwork: Subnet self link (no access config: no external IP).
        service_account_email: The VM's own service account (bucket prefix, API-key secret, logs, metrics).
        startup_script: The VM bootstrap (``plan.bootstrap.vm_startup_script``): no secret inside.
        labels: Cost labels of the instances.
    """

    shape: GcpShape
    provisioning: Provisioning
    max_run_seconds: int | None
    reservation: str | None
    image: pulumi.Input[str]
    boot_disk_gib: int
    subnetwork: pulumi.Input[str]
    service_account_email: pulumi.Input[str]
    startup_script: pulumi.Input[str]
    labels: dict[str, str] = field(default_factory=dict)


class GpuInstanceTemplate(pulumi.ComponentResource):
    """An instance template per rung: templates are immutable, so a change creates a new auto-named one
    and the MIG rolls to it before the old one is deleted."""

    self_link: pulumi.Output[str]

    def __init__(self, name: str, args: GpuInstanceTemplateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Create the instance template."""
        super().__init__("gpuinfra:gcp:GpuInstanceTemplate", name, None, opts)
        self._args = args
        template = gcp.compute.InstanceTemplate(
            f"{name}-template", machine_type=args.shape.machine_type, can_ip_forward=False,
            description=f"gpuinfra {name}", tags=[gcp_access.SERVING_TAG], labels=args.labels,
            disks=self._disks(),
            guest_accelerators=[gcp.compute.InstanceTemplateGuestAcceleratorArgs(
                type=args.shape.accelerator, count=args.shape.gpu_count)],
            scheduling=self._scheduling(), reservation_affinity=self._reservation_affinity(),
            # No access_configs: no external IP; egress goes through Cloud NAT, Google APIs stay private.
            # nic_type GVNIC where the machine series requires it (A3: gVNIC only; catalog gvnic_required).
            network_interfaces=[gcp.compute.InstanceTemplateNetworkInterfaceArgs(
                subnetwork=args.subnetwork, nic_type=args.shape.nic_type)],
            # cloud-platform scope with narrow IAM roles is Google's recommended pattern: scopes are legacy.
            service_account=gcp.compute.InstanceTemplateServiceAccountArgs(
                email=args.service_account_email, scopes=[gcp_access.CLOUD_PLATFORM_SCOPE]),
            # Secure boot stays off: the image's NVIDIA kernel module is not signed by a key in the
            # shielded-VM db, so the driver would not load; vTPM and integrity monitoring stay on.
            shielded_instance_config=gcp.compute.InstanceTemplateShieldedInstanceConfigArgs(
                enable_secure_boot=False, enable_vtpm=True, enable_integrity_monitoring=True),
            metadata={"enable-oslogin": "TRUE", "block-project-ssh-keys": "TRUE"},
            metadata_startup_script=args.startup_script,
            opts=pulumi.ResourceOptions(parent=self))
        self.self_link = template.self_link
        self.template_id = template.id
        self.register_outputs({"self_link": self.self_link})

    def _disks(self) -> list[gcp.compute.InstanceTemplateDiskArgs]:
        boot = gcp.compute.InstanceTemplateDiskArgs(
            boot=True, auto_delete=True, source_image=self._args.image, disk_size_gb=self._args.boot_disk_gib,
            disk_type="pd-balanced")
        # Local NVMe SSDs (bundled ones listed too: the reservation's shape names them, so must the VM's).
        ssds = [gcp.compute.InstanceTemplateDiskArgs(type="SCRATCH", disk_type="local-ssd", interface="NVME",
                                                     disk_size_gb=GCP_LOCAL_SSD_GB, auto_delete=True)
                for _ in range(self._args.shape.local_ssd_count)]
        return [boot, *ssds]

    def _scheduling(self) -> gcp.compute.InstanceTemplateSchedulingArgs:
        model = self._args.provisioning
        standard = model == "STANDARD"
        max_run = (gcp.compute.InstanceTemplateSchedulingMaxRunDurationArgs(seconds=self._args.max_run_seconds)
                   if self._args.max_run_seconds else None)
        return gcp.compute.InstanceTemplateSchedulingArgs(
            # GPUs cannot live-migrate: host maintenance stops the VM.
            on_host_maintenance="TERMINATE", provisioning_model=model, preemptible=model == "SPOT",
            automatic_restart=standard,
            # DELETE, not STOP: a MIG recreates deleted members (possibly in another zone with capacity);
            # a stopped spot VM would keep its disks billed and hold a MIG slot without serving.
            instance_termination_action=None if standard else "DELETE", max_run_duration=max_run)

    def _reservation_affinity(self) -> gcp.compute.InstanceTemplateReservationAffinityArgs:
        if self._args.reservation:
            return gcp.compute.InstanceTemplateReservationAffinityArgs(
                type="SPECIFIC_RESERVATION",
                specific_reservation=gcp.compute.InstanceTemplateReservationAffinitySpecificReservationArgs(
                    key=RESERVATION_KEY, values=[self._args.reservation]))
        # Spot and flex-start VMs cannot consume reservations; on-demand may use any open one.
        kind = "ANY_RESERVATION" if self._args.provisioning == "STANDARD" else "NO_RESERVATION"
        return gcp.compute.InstanceTemplateReservationAffinityArgs(type=kind)
