"""Operations settings: budget, policy guardrails and monitoring."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from components.catalog.catalog import PRICE_MAX_AGE_DAYS
from components.spec import values as v
from components.spec.base import Days, Spec


class BudgetSpec(Spec):
    """Monthly GPU spend limits checked by the plan and the policy pack."""

    monthly_usd: float = Field(gt=0, le=1e8)
    """Worst-case monthly cost (730 h) the stack may reach, USD (mandatory guardrail; at most 1e8)."""
    expected_ratio: float = Field(default=0.8, gt=0, le=1)
    """Expected monthly cost should stay under monthly_usd x this ratio (advisory)."""
    spot_availability: float = Field(default=0.7, ge=0, le=1)
    """Share of the spot burst assumed to get spot capacity in the expected cost (the rest on-demand)."""
    cold_starts_per_month: int = Field(default=60, ge=0, le=100000)
    """Node cold starts per pool per month the transfer costs assume (image pulls through NAT, weights read from
    another region); default 60, about two a day (an assumption, not derived from traffic)."""
    weights_revisions_per_month: float = Field(default=2, ge=0, le=1000)
    """Model revisions published per month: each one is copied once to every replica region (S3 replication)."""


class PolicySpec(Spec):
    """Guardrail settings evaluated in every plan."""

    allowed_gpus: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 .-]{0,31}$")]] = Field(
        default_factory=list, max_length=50)
    """GPU models pools may use (e.g. L4, A10G); empty allows every catalog GPU."""
    max_usd_per_mtok: float | None = Field(default=None, gt=0, le=1000)
    """Advisory ceiling on each model's cost per million tokens (input + output, USD, at most 1000) at its planned
    ``traffic`` (models without traffic are not judged)."""
    catalog_max_age_days: Days = PRICE_MAX_AGE_DAYS
    """Warn when catalog prices are older than this (days)."""
    baseline_plan: Annotated[str, AfterValidator(v.repo_path)] | None = None
    """Path (repo-relative, inside the repository: no leading '/' or '..') of a plan JSON to report the monthly
    cost delta against (advisory)."""


class SloSpec(Spec):
    """Serving objectives the alerts fire on."""

    ttft_p95_seconds: float = Field(default=2.0, gt=0, le=600)
    """p95 time to first token objective, seconds (at most 600)."""
    e2e_p99_seconds: float = Field(default=10.0, gt=0, le=3600)
    """p99 end-to-end request latency objective, seconds (at most 3600)."""
    error_rate: float = Field(default=0.001, gt=0, lt=1)
    """Highest tolerated share of failed requests (0.001 = 0.1%)."""


class MonitoringSpec(Spec):
    """GPU and serving monitoring."""

    enabled: bool = True
    """Deploy GPU and serving monitoring."""
    provider: Literal["self-managed", "gke-managed"] = "self-managed"
    """``gke-managed`` uses GKE managed DCGM and managed Prometheus on GKE clusters."""
    retention_days: Days = 15
    """Prometheus retention in days (1-3650)."""
    storage_gib: int = Field(default=100, ge=1, le=16384)
    """Prometheus persistent volume size in GiB (at most 16384, the EBS gp3 maximum)."""
    slo: SloSpec = SloSpec()
    """Serving objectives alerts fire on."""
    gpu_idle_threshold_pct: float = Field(default=30.0, gt=0, lt=100)
    """GPU utilisation (%) under which a billed GPU counts as idle (alert after 1 h)."""
