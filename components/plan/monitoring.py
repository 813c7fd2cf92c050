"""The monitoring plan: facts, recording and alerting rules, dashboards and the VM-fleet scrape configuration."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.plan.alerts import rule_groups
from components.plan.basis import PlanBasis
from components.plan.cost import CostPlan
from components.plan.dashboards import dashboards
from components.plan.recording import MonitoringFacts, monitoring_facts
from components.plan.scrape import scrape_config


@dataclass(frozen=True)
class MonitoringPlan:
    """What the monitoring components render (every rule and dashboard comes from the same facts).

    Attributes:
        enabled / provider / retention_days / storage_gib: The stack's ``monitoring`` settings.
        facts: Thresholds, prices and metric names the rules are written from.
        rule_groups: Recording and alerting groups (PrometheusRule / ClusterRules / a rule file).
        dashboards: Grafana dashboards by file stem.
        scrape_config: ``prometheus.yml`` for VM fleets (``gcp_project`` is the placeholder ``GCP_PROJECT``).
    """

    enabled: bool
    provider: str
    retention_days: int
    storage_gib: int
    facts: MonitoringFacts
    rule_groups: tuple[dict, ...]
    dashboards: Mapping[str, dict]
    scrape_config: Mapping


def plan_monitoring(basis: PlanBasis, cost: CostPlan) -> MonitoringPlan:
    """Write the rules, dashboards and scrape configuration once from the plan's facts."""
    mon = basis.spec.monitoring
    facts = monitoring_facts(basis, cost)
    return MonitoringPlan(enabled=mon.enabled, provider=mon.provider, retention_days=mon.retention_days,
                          storage_gib=mon.storage_gib, facts=facts, rule_groups=tuple(rule_groups(facts)),
                          dashboards=dashboards(facts), scrape_config=scrape_config(basis))
