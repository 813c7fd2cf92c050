"""VM-mode Prometheus configuration: EC2/GCE service discovery of the GPU fleets, relabelled like Kubernetes targets."""
from __future__ import annotations

from components.plan import names
from components.plan.gcp_shapes import rung_zones
from components.plan.basis import PlanBasis
from components.plan.recording import DCGM_JOB, RULE_INTERVAL_SECONDS
from components.spec import StackSpec

RULES_FILE = "gpuinfra-rules.yaml"
#: (job, port, path) scraped on every VM of a fleet: vLLM's OpenAI server, DCGM exporter, node exporter.
VM_TARGETS = (("vllm", 8000, "/metrics"), (DCGM_JOB, 9400, "/metrics"), ("node-exporter", 9100, "/metrics"))
#: Relabelling for Kubernetes ServiceMonitors/PodMonitors: the node name becomes ``node`` (the rules join on it).
NODE_RELABELINGS = [{"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node", "action": "replace"}]
#: Zones assumed when neither the pool nor the accelerator table names any (GCE SD needs one zone per config).
DEFAULT_ZONE_SUFFIXES = ("a", "b", "c")


def _copy(source: str, target: str, regex: str = "(.+)") -> dict:
    return {"source_labels": [source], "regex": regex, "target_label": target, "replacement": "$1", "action": "replace"}


def _aws_relabel() -> list[dict]:
    """Instance id -> node; pool from the ASG name (``fleet_name``) or a ``Pool`` tag; tier from lifecycle or tag."""
    fleet = names.fleet_name("(.+)") + "(-[0-9a-f]+)?"
    return [
        _copy("__meta_ec2_instance_id", "node"),
        _copy("__meta_ec2_availability_zone", "zone"),
        _copy("__meta_ec2_tag_aws_autoscaling_groupName", "pool", f"^{fleet}$"),
        _copy("__meta_ec2_tag_Pool", "pool"),
        {"source_labels": ["__meta_ec2_instance_lifecycle"], "regex": "^$", "target_label": "tier",
         "replacement": "on-demand", "action": "replace"},
        _copy("__meta_ec2_instance_lifecycle", "tier", "^(spot)$"),
        _copy("__meta_ec2_tag_CapacityTier", "tier"),
    ]


def _gcp_relabel() -> list[dict]:
    return [_copy("__meta_gce_instance_name", "node"), _copy("__meta_gce_zone", "zone", ".*/zones/(.+)"),
            _copy("__meta_gce_label_pool", "pool"), _copy("__meta_gce_label_capacity_tier", "tier")]


def _ec2_sd(spec: StackSpec, port: int) -> list[dict]:
    regions = sorted({spec.pool_region("aws", p) for p in spec.aws.gpu_pools})
    filters = [{"name": "tag:ManagedBy", "values": ["gpuinfra"]},
               {"name": "tag:Environment", "values": [spec.environment]},
               {"name": "instance-state-name", "values": ["running"]}]
    return [{"region": r, "port": port, "filters": filters} for r in regions]


def _gcp_zones(basis: PlanBasis) -> list[str]:
    spec = basis.spec
    zones: set[str] = set()
    for pool in spec.gcp.gpu_pools:
        region = spec.pool_region("gcp", pool)
        for rung in basis.ladder(pool.name).rungs:
            zones.update(rung_zones(basis, pool, rung, region, []) or [f"{region}-{s}" for s in DEFAULT_ZONE_SUFFIXES])
    return sorted(zones)


def _gce_sd(basis: PlanBasis, project: str, port: int) -> list[dict]:
    flt = f'(labels.managed-by = "gpuinfra") AND (labels.environment = "{basis.spec.environment}")'
    return [{"project": project, "zone": z, "port": port, "filter": flt} for z in _gcp_zones(basis)]


def has_vm_fleets(spec: StackSpec) -> bool:
    """True when a cloud section runs in VM mode (no Kubernetes, so no operator-managed Prometheus)."""
    return bool((spec.aws and spec.aws.mode == "vm") or (spec.gcp and spec.gcp.mode == "vm"))


def scrape_config(basis: PlanBasis, gcp_project: str = "GCP_PROJECT") -> dict:
    """A complete ``prometheus.yml`` for the stack's VM fleets, loading the shared rule file.

    Args:
        basis: The planned stack.
        gcp_project: Project of the GCE fleets (the ``gcp:project`` config; not part of the spec).

    Returns:
        The configuration; ``scrape_configs`` is empty when no cloud runs in VM mode.
    """
    spec = basis.spec
    aws = bool(spec.aws and spec.aws.mode == "vm")
    gcp = bool(spec.gcp and spec.gcp.mode == "vm")
    jobs = []
    for job, port, path in VM_TARGETS if aws or gcp else ():
        # One job per exporter for both clouds: the rules select on job names shared with Kubernetes.
        entry: dict = {"job_name": job, "metrics_path": path, "relabel_configs": _aws_relabel() + _gcp_relabel()}
        if aws:
            entry["ec2_sd_configs"] = _ec2_sd(spec, port)
        if gcp:
            entry["gce_sd_configs"] = _gce_sd(basis, gcp_project, port)
        jobs.append(entry)
    return {"global": {"scrape_interval": "15s", "evaluation_interval": f"{RULE_INTERVAL_SECONDS}s",
                       "external_labels": {"environment": spec.environment}},
            "rule_files": [RULES_FILE], "scrape_configs": jobs}
