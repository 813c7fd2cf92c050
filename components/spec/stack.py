"""The whole stack's typed intent (``StackSpec``): one schema for every environment."""
from __future__ import annotations

from pydantic import Field, model_validator

from components.spec.aws import AwsSpec
from components.spec.base import Environment, Spec, TagText
from components.spec.capacity import GpuPoolSpec
from components.spec.deployer import DeployerSpec
from components.spec.gcp import GcpSpec
from components.spec.models import ModelSpec
from components.spec.operations import BudgetSpec, MonitoringSpec, PolicySpec
from components.spec.serving import ServingSpec
from components.catalog.vocab import AWS, Cloud

#: Top-level ``gpuinfra:`` keys that must be Pulumi secrets (``pulumi config set --secret``).
SECRET_KEYS = ("vllm_api_key", "hf_token", "grafana_admin_password", "router_api_keys")


class StackSpec(Spec):
    """Everything one environment (``Pulumi.<env>.yaml``) asks for, under the ``gpuinfra:`` namespace."""

    environment: Environment
    """Which environment this stack is: dev, staging or prod (prod turns on protections)."""
    owner: TagText
    """Team or person owning the stack (Owner tag / owner label): 1-256 letters, digits, spaces or _ . : / = + - @
    (the AWS IAM tag value alphabet)."""
    cost_center: TagText
    """Cost center tag (CostCenter / cost-center): 1-256 characters of the same alphabet as owner."""
    budget: BudgetSpec
    """Monthly spend limits."""
    models: list[ModelSpec] = Field(min_length=1, max_length=32)
    """Models to serve (at least one)."""
    aws: AwsSpec | None = None
    """AWS resources; omit for a GCP-only stack."""
    gcp: GcpSpec | None = None
    """GCP resources; omit for an AWS-only stack."""
    serving: ServingSpec = ServingSpec()
    """Serving settings shared by every model."""
    monitoring: MonitoringSpec = MonitoringSpec()
    """GPU and serving monitoring."""
    policy: PolicySpec = PolicySpec()
    """Guardrail settings."""
    deployer: DeployerSpec = DeployerSpec()
    """Where the deploy and preview jobs run (reachability of the Kubernetes API endpoints)."""
    secrets: frozenset[str] = frozenset()
    """Names of the secret keys set for this stack (values never enter the spec)."""

    @model_validator(mode="after")
    def _some_cloud(self) -> "StackSpec":
        if self.aws is None and self.gcp is None:
            raise ValueError("no cloud configured: set 'aws' and/or 'gcp'")
        return self

    def pools(self) -> list[tuple[str, GpuPoolSpec]]:
        """Every GPU pool with its cloud, AWS first, in configuration order."""
        out: list[tuple[str, GpuPoolSpec]] = []
        for cloud, section in (("aws", self.aws), ("gcp", self.gcp)):
            if section is not None:
                out.extend((cloud, pool) for pool in section.gpu_pools)
        return out

    def pool(self, name: str) -> tuple[str, GpuPoolSpec]:
        """The (cloud, pool) named ``name``; KeyError when absent."""
        for cloud, pool in self.pools():
            if pool.name == name:
                return cloud, pool
        raise KeyError(name)

    def section(self, cloud: Cloud) -> AwsSpec | GcpSpec | None:
        """The ``aws`` or ``gcp`` section of ``cloud`` (None when that cloud is not configured)."""
        return self.aws if cloud == AWS else self.gcp

    def pool_regions(self, cloud: Cloud) -> list[str]:
        """Regions holding ``cloud``'s GPU pools, in first-use order."""
        section = self.section(cloud)
        return list(dict.fromkeys(self.pool_region(cloud, p) for p in (section.gpu_pools if section else [])))

    def pool_region(self, cloud: Cloud, pool: GpuPoolSpec) -> str:
        """Region of a pool: its own, else its cloud's primary region."""
        section = self.section(cloud)
        region = pool.region or (section.region if section else None)
        assert region, "load_stack_spec fills the primary region"
        return region
