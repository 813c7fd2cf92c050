"""``plan_stack(spec) -> StackPlan``: every decision of one stack, made once, before anything is registered."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.plan.aws_plan import AwsPlan, plan_aws
from components.plan.basis import PlanBasis, plan_basis
from components.plan.checks import check_plan
from components.plan.cost import CostPlan, estimate_cost
from components.plan.gcp_plan import GcpPlan, plan_gcp
from components.plan.kubernetes_plan import KubernetesClusterPlan, plan_clusters
from components.plan.ladder import LadderPlan
from components.plan.monitoring import MonitoringPlan, plan_monitoring
from components.plan.routing import ClusterRoutes, plan_routes
from components.plan.sizing import ServingPlan
from components.plan.tags import cost_labels, cost_tags
from components.plan.validation import validate_plan_inputs
from components.plan.workloads import plan_workloads
from components.spec import StackSpec
from components.spec.base import Environment


@dataclass(frozen=True)
class StackPlan:
    """The one plan of a stack: components translate its slices and never read the spec.

    Attributes:
        environment: dev, staging or prod.
        tags / labels: Cost and ownership tags (AWS) and labels (GCP) every resource carries.
        ladders: Pool name -> capacity ladder.
        serving: Every (model, pool) sizing: fit, TP, replicas per node, engine arguments, load format.
        clusters: The serving layer per Kubernetes cluster.
        routes: Every cluster's router (empty while routing is off).
        monitoring: Rules, dashboards and scrape configuration.
        cost: Every cost item with best / expected / worst totals.
        aws / gcp: The cloud slices (None when the stack has no such section).
        basis: The validated spec with ladders and sizing, for the cloud planners (components never read it).
    """

    environment: Environment
    tags: Mapping[str, str]
    labels: Mapping[str, str]
    ladders: Mapping[str, LadderPlan]
    serving: tuple[ServingPlan, ...]
    clusters: tuple[KubernetesClusterPlan, ...]
    routes: tuple[ClusterRoutes, ...]
    monitoring: MonitoringPlan
    cost: CostPlan
    aws: AwsPlan | None
    gcp: GcpPlan | None
    basis: PlanBasis

    def cluster(self, name: str) -> KubernetesClusterPlan | None:
        """The serving-layer plan of the Kubernetes cluster ``name``, if it serves anything."""
        return next((c for c in self.clusters if c.name == name), None)


def plan_stack(spec: StackSpec) -> StackPlan:
    """Plan the whole stack once: ladders, sizing, checks that need them, workloads, routes, monitoring, cost.

    Raises:
        ConfigError: a check that needs the plan failed (the key path names the setting); nothing is registered.
    """
    basis = plan_basis(spec)
    validate_plan_inputs(spec, basis.ladders)
    check_plan(basis)
    routes = plan_routes(spec)
    workloads = plan_workloads(basis)
    cost = estimate_cost(basis)
    return StackPlan(
        environment=spec.environment, tags=cost_tags(spec), labels=cost_labels(spec), ladders=basis.ladders,
        serving=basis.serving, clusters=plan_clusters(basis, workloads, routes), routes=tuple(routes),
        monitoring=plan_monitoring(basis, cost), cost=cost, aws=plan_aws(basis) if spec.aws else None,
        gcp=plan_gcp(basis) if spec.gcp else None, basis=basis)
