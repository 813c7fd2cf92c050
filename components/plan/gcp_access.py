"""GCP access rules as data: bucket-prefix IAM conditions, project roles and VM-mode firewall rules."""
from __future__ import annotations

from dataclasses import dataclass

from components.plan import names
from components.plan.gcp_shapes import service_account_id
from components.spec import StackSpec
from components.spec.models import ModelSpec

SERVING_PORT = 8000
METRICS_PORTS = (9400, 9100)  # DCGM exporter, node exporter
#: Google's load-balancer health-check and passthrough-LB probe ranges (cloud.google.com/load-balancing/docs/
#: health-check-concepts#ip-ranges, read 2026-11-23): the only outside sources of serving traffic.
HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
#: Network tag of GPU serving VMs (firewall targets) and of the VMs allowed to scrape them.
SERVING_TAG = "gpuinfra-serving"
MONITORING_TAG = "gpuinfra-monitoring"
#: Project roles a serving VM's own service account needs besides its bucket-prefix and secret grants.
VM_PROJECT_ROLES = ("roles/logging.logWriter", "roles/monitoring.metricWriter")
#: The documented least-privilege role for GKE node service accounts (logging, monitoring, image pulls).
NODE_PROJECT_ROLES = ("roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader")
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
#: KEDA's GCP pod identity reads Managed Service for Prometheus through its PromQL API, which reads Cloud
#: Monitoring time series: ``roles/monitoring.viewer`` (KEDA docs "GCP Workload Identity" and the Prometheus
#: scaler's Google Managed Prometheus section, keda.sh/docs/2.20; Google Cloud "Query using the Prometheus
#: API", cloud.google.com/stackdriver/docs/managed-prometheus/query). KEDA asks for the ``monitoring.read``
#: scope (kedacore/keda v2.20.2 pkg/scalers/gcp/gcp_common.go GcpScopeMonitoringRead).
KEDA_PROJECT_ROLES = ("roles/monitoring.viewer",)


def workload_identity_member(project: str, namespace: str, service_account: str) -> str:
    """IAM member of a Kubernetes ServiceAccount in a GKE cluster's workload pool (``<project>.svc.id.goog``)."""
    return f"serviceAccount:{project}.svc.id.goog[{namespace}/{service_account}]"


def keda_account_id(environment: str, region: str) -> str:
    """Account id of the Google service account KEDA's operator impersonates on one regional cluster."""
    return service_account_id("keda", environment, region)


def model_prefixes(model: ModelSpec) -> list[str]:
    """Object prefixes a model's readers may read: the served revision and the canary revision."""
    revisions = [model.revision] + ([model.canary.revision] if model.canary else [])
    return [names.model_prefix(model.name, rev) for rev in dict.fromkeys(revisions)]


def reader_condition(bucket: str, model: ModelSpec) -> dict[str, str]:
    """IAM condition restricting ``roles/storage.objectViewer`` to a model's revision prefixes.

    ``storage.objects.list`` is checked against the bucket (``projects/_/buckets/<b>``), never against an
    object name, so a prefix condition alone would deny listing; the condition therefore also matches the
    bucket itself. The reader can list object names bucket-wide but read object data only under its prefixes.
    """
    objects = " || ".join(f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{p}")'
                          for p in model_prefixes(model))
    return {
        "title": f"{model.name}-weights-only"[:100],
        "description": f"Read {model.name} revisions only; list is bucket-wide (not prefix-conditionable).",
        "expression": f'resource.name == "projects/_/buckets/{bucket}" || {objects}',
    }


@dataclass(frozen=True)
class FirewallRule:
    """One ingress allow rule (VPC firewall), never from 0.0.0.0/0."""

    role: str
    ports: tuple[int, ...]
    source_ranges: tuple[str, ...] = ()
    source_tags: tuple[str, ...] = ()
    description: str = ""


def vm_firewall_rules(spec: StackSpec, subnet_cidr: str) -> list[FirewallRule]:
    """Ingress rules of the VM-mode serving fleet (AWS security-group equivalent).

    Serving port from the health-check/LB ranges and the subnet (a passthrough internal LB keeps the
    client's source address, so in-VPC clients arrive from the subnet); metrics only from VMs tagged
    ``MONITORING_TAG`` and ``gcp.vm.monitoring_cidrs``.
    """
    assert spec.gcp is not None
    rules = [
        FirewallRule("serving", (SERVING_PORT,), source_ranges=(*HEALTH_CHECK_RANGES, subnet_cidr),
                     description="vLLM from the internal LB's health checks and in-VPC clients"),
        FirewallRule("metrics", METRICS_PORTS, source_tags=(MONITORING_TAG,),
                     description="DCGM and node exporters from monitoring VMs"),
    ]
    cidrs = tuple(str(c) for c in spec.gcp.vm.monitoring_cidrs)
    if cidrs:
        rules.append(FirewallRule("metrics-cidrs", METRICS_PORTS, source_ranges=cidrs,
                                  description="DCGM and node exporters from gcp.vm.monitoring_cidrs"))
    return rules
