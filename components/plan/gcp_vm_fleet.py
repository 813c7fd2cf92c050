"""The VM-mode slice of each GCP region: firewall, API-key secret and, per pool, its MIGs' boot and scaling."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from components.catalog.versions import image, vllm_image
from components.catalog.vocab import GCP, bucket_url
from components.plan import gcp_access, names
from components.plan.basis import PlanBasis
from components.plan.bootstrap import (GCE_MAX_AUTOHEAL_DELAY_SECONDS, VmBootstrap, health_check_grace_seconds,
                                      vm_startup_script)
from components.plan.gcp_access import FirewallRule
from components.plan.gcp_rollout import MigRollout, mig_rollout
from components.plan.gcp_shapes import GcpPoolSettings, GcpShape, node_shape, service_account_id, pool_settings, zone_choice
from components.plan.gcp_zones import ZoneChoice
from components.plan.ladder import LadderPlan, Rung, Tier
from components.plan.tags import cost_labels
from components.plan.vm_autoscaling import QueueScaling, queue_scaling
from components.spec.capacity import GpuPoolSpec


@dataclass(frozen=True)
class VmPoolPlan:
    """One VM-mode pool: its identity, boot script and per-rung MIG settings (``components.gcp.instance_group``).

    Attributes:
        pool / ladder / shape: The pool, its rungs and its VM shape.
        account_id / display_name: The pool's own VM service account.
        reader_condition: IAM condition limiting the account's bucket reads to the model's revision prefixes.
        zones: Rung tier -> its zone rule.
        startup_script: The VMs' boot script (weights copy, vLLM, exporters).
        initial_delay_seconds: Autohealing grace (boot, weight copy, load).
        scaling: Burst rung tier -> its queue metric rule.
        headroom: Rung tier -> spare VMs of the reservation it consumes (0 when none).
        labels: Cost labels with the served model.
        reservation: The reservation the pool names (its MIGs wait for it), or None.
    """

    pool: GcpPoolSettings
    ladder: LadderPlan
    shape: GcpShape
    account_id: str
    display_name: str
    reader_condition: Mapping[str, str]
    zones: Mapping[Tier, ZoneChoice]
    startup_script: str
    initial_delay_seconds: int
    scaling: Mapping[Tier, QueueScaling]
    headroom: Mapping[Tier, int]
    labels: Mapping[str, str]
    reservation: str | None

    def rollout(self, rung: Rung, zones: int) -> MigRollout:
        """How ``rung``'s MIG rolls over the ``zones`` it spans (known once the region's UP zones are)."""
        return mig_rollout(rung, zones, self.headroom[rung.tier],
                           min(self.initial_delay_seconds, GCE_MAX_AUTOHEAL_DELAY_SECONDS))


@dataclass(frozen=True)
class VmFleetPlan:
    """One region's VM-mode fleet (``components.gcp.vm_fleet``).

    Attributes:
        region: The region.
        secret_id / api_key_secret: The vLLM API key's secret id and resource name.
        firewall: Ingress rules of the serving VMs.
        labels: Cost labels of region-wide resources.
        pools: The region's GCP pools, in configuration order.
    """

    region: str
    secret_id: str
    api_key_secret: str
    firewall: tuple[FirewallRule, ...]
    labels: Mapping[str, str]
    pools: tuple[VmPoolPlan, ...]


def _pool(basis: PlanBasis, pool: GpuPoolSpec, fleet: VmFleetPlan, bucket: str, group: str,
          reservation_headroom: Mapping[str, int]) -> VmPoolPlan:
    spec, ladder = basis.spec, basis.ladder(pool.name)
    model = next(m for m in spec.models if pool.name in m.pools)  # spec checks refuse zero or several
    serving = basis.serving_plan(model.name, pool.name)
    script = vm_startup_script(VmBootstrap(
        cloud=GCP, model=model.name, weights_uri=bucket_url(GCP, bucket, names.model_prefix(model.name, model.revision)),
        engine_args=serving.engine_args, vllm_image=vllm_image(), dcgm_exporter_image=image("dcgm_exporter"),
        node_exporter_image=image("node_exporter"), api_key_secret=fleet.api_key_secret, region=fleet.region,
        metrics_group=group))
    return VmPoolPlan(
        pool=pool_settings(pool, ladder.rungs), ladder=ladder, shape=node_shape(basis, pool),
        account_id=service_account_id("vm", spec.environment, pool.name),
        display_name=f"gpuinfra {spec.environment}: {pool.name} serving VMs",
        reader_condition=gcp_access.reader_condition(bucket, model),
        zones={r.tier: zone_choice(basis, pool, r, fleet.region) for r in ladder.rungs},
        startup_script=script, initial_delay_seconds=health_check_grace_seconds(serving.weights_gib),
        scaling={r.tier: queue_scaling(ladder, r, model.name, group, serving.queue_depth_target)
                 for r in ladder.rungs if r.autoscaled},
        headroom={r.tier: reservation_headroom.get(r.reservation or "", 0) for r in ladder.rungs},
        labels=cost_labels(spec, model=model.name), reservation=pool.capacity.reservation)


def plan_vm_fleets(basis: PlanBasis, project: str, bucket: str, metrics_groups: Mapping[str, str],
                   reservation_headroom: Mapping[str, int]) -> Mapping[str, VmFleetPlan]:
    """Plan every VM-mode region: one fleet per region holding GCP pools.

    Args:
        basis: The planned stack (``gcp.mode`` is ``vm``).
        project: The GCP project (the secret's resource name).
        bucket: The weights bucket's name (boot script, reader condition).
        metrics_groups: Pool name -> its VMs' metrics group.
        reservation_headroom: Reservation name -> VMs beyond its consumers' reserved nodes.
    """
    spec = basis.spec
    assert spec.gcp is not None
    firewall = tuple(gcp_access.vm_firewall_rules(spec, str(spec.gcp.network.subnet_cidr)))
    out = {}
    for region in spec.pool_regions("gcp"):
        secret_id = f"gpuinfra-{spec.environment}-vllm-api-key-{region}"
        fleet = VmFleetPlan(region=region, secret_id=secret_id, api_key_secret=f"projects/{project}/secrets/{secret_id}",
                            firewall=firewall, labels=cost_labels(spec), pools=())
        pools = [p for p in spec.gcp.gpu_pools if spec.pool_region("gcp", p) == region]
        out[region] = replace(fleet, pools=tuple(
            _pool(basis, p, fleet, bucket, metrics_groups[p.name], reservation_headroom) for p in pools))
    return out
