"""GKE custom ComputeClasses: each GKE pool's ladder as an ordered list of its per-rung node pools."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from dataclasses import dataclass

from components.catalog.versions import versions
from components.plan import names
from components.plan.basis import PlanBasis
from components.plan.ladder import LadderPlan, Rung, Tier
from components.catalog.vocab import GCP

#: The ComputeClass API (GKE serves the CRD computeclasses.cloud.google.com itself; the served version is
#: versions.yaml gcp.compute_class.api_version, its schema is vendored in tests/upstream/crds/).
KIND = "ComputeClass"
#: Node label and taint key a manually created node pool needs to serve a class, and the pods' nodeSelector key:
#: GKE applies and tolerates both itself only on pools it auto-creates; "Manual pools, by contrast, REQUIRE it as
#: label + taint to bind" (google/skills, skills/cloud/gke-compute-classes references, CRD fields & spec reference,
#: read 2026-12-03; GKE docs kubernetes-engine/docs/concepts/about-custom-compute-classes).
LABEL = "cloud.google.com/compute-class"
#: The CRD's own description: a class affects only workloads selecting its name, "except ComputeClass with name
#: default which will be used for workloads not specifying any preferences" (computeclasses.cloud.google.com as GKE
#: serves it, vendored in tests/upstream/crds/): the prefix keeps a pool called "default" from capturing every pod.
PREFIX = "gpuinfra-"


def api_version() -> str:
    """The pinned ComputeClass apiVersion (versions.yaml ``gcp.compute_class.api_version``)."""
    return str(versions()["gcp"]["compute_class"]["api_version"])


def compute_class_name(pool: str) -> str:
    """The ComputeClass of a GKE pool (a pool name is a DNS label, so the class name is one too)."""
    return f"{PREFIX}{pool}"


def priority_order(ladder: LadderPlan) -> tuple[Rung, ...]:
    """The ladder's rungs from most to least preferred: the order of the AWS priority expander (``Rung.priority``,
    higher first), ties kept in ladder order, so both clouds fill the same ladder the same way."""
    return tuple(sorted(ladder.rungs, key=lambda r: -r.priority))


@dataclass(frozen=True)
class ComputeClassPlan:
    """One GKE pool's ComputeClass.

    Attributes:
        name: The class (``compute_class_name``): node label / taint value and the pods' nodeSelector value.
        pool: The GPU pool.
        tiers: Rung tiers, most preferred first (``priority_order``).
        node_pools: Pulumi names of the per-rung node pools in the same order (``names.rung_name``).
    """

    name: str
    pool: str
    tiers: tuple[Tier, ...]
    node_pools: tuple[str, ...]

    @property
    def node_label(self) -> dict[str, str]:
        """The label every node pool of the class carries."""
        return {LABEL: self.name}

    @property
    def taint(self) -> dict[str, str]:
        """The taint every node pool of the class carries (Kubernetes spelling)."""
        return {"key": LABEL, "value": self.name, "effect": "NoSchedule"}


def plan_compute_classes(basis: PlanBasis) -> tuple[ComputeClassPlan, ...]:
    """A ComputeClass per GKE pool (none in VM mode or without a GCP section)."""
    gcp = basis.spec.gcp
    if gcp is None or gcp.mode != "gke":
        return ()
    out = []
    for pool in gcp.gpu_pools:
        order = priority_order(basis.ladder(pool.name))
        out.append(ComputeClassPlan(name=compute_class_name(pool.name), pool=pool.name,
                                    tiers=tuple(r.tier for r in order),
                                    node_pools=tuple(names.rung_name(pool.name, r.tier) for r in order)))
    return tuple(out)


def compute_class_manifest(plan: ComputeClassPlan, node_pool_names: Sequence[Any]) -> dict:
    """The ComputeClass object for ``plan`` whose priorities name the created node pools.

    Each priority holds only ``nodepools`` (the CRD's CEL rule: "Nodepool field cannot be set along with other
    fields"): the per-rung pools already carry the reservation affinity, spot / flex-start model, driver and local
    SSDs. Node pool auto-creation stays off and an unsatisfiable class does not scale up, so no node exists outside
    the priced and policed ladder; active migration moves pods back up the ladder (fallback to spot) when the
    preferred capacity returns.

    Args:
        plan: The class.
        node_pool_names: GKE names of ``plan.node_pools`` in the same order (strings, or the node pools' ``name``
            outputs: the component passes those, which this builder only places).

    Returns:
        The ``cloud.google.com/v1`` ComputeClass as a dict.
    """
    assert len(node_pool_names) == len(plan.node_pools), (node_pool_names, plan.node_pools)
    return {
        "apiVersion": api_version(), "kind": KIND,
        "metadata": {"name": plan.name, "labels": {"app.kubernetes.io/part-of": "gpuinfra", "gpuinfra.dev/pool": plan.pool}},
        "spec": {
            "priorities": [{"nodepools": [name]} for name in node_pool_names],
            "activeMigration": {"optimizeRulePriority": True},
            "nodePoolAutoCreation": {"enabled": False},
            "whenUnsatisfiable": "DoNotScaleUp",
        },
    }


def priority_rows(ladders: Sequence[LadderPlan]) -> list[dict]:
    """The report's ladder priorities: per rung, the cluster-autoscaler priority (EKS priority expander) next to the
    rank the same rung takes in a GKE ComputeClass, so a reader sees both renderings order the ladder alike."""
    rows = []
    for ladder in ladders:
        for rank, rung in enumerate(priority_order(ladder), start=1):
            rows.append({"pool": ladder.pool, "cloud": ladder.cloud, "tier": rung.tier,
                         "node_group": names.rung_name(ladder.pool, rung.tier),
                         "cluster_autoscaler_priority": rung.priority, "compute_class_rank": rank,
                         "compute_class": compute_class_name(ladder.pool) if ladder.cloud == GCP else None})
    return rows
