"""Commitments on a pool's always-on floor: validation, the committed node rate, and the saving against on-demand."""
from __future__ import annotations

from dataclasses import dataclass

from components.catalog import load_catalog
from components.catalog.commitments import COMMITMENT_CLOUD, commitment_rate, priced_commitments
from components.plan.basis import PlanBasis
from components.plan.ladder import LadderPlan, Rung
from components.plan.pricing import HOURS_PER_MONTH
from components.spec.errors import ConfigError, key_path

#: Rungs a commitment pays for: the floor that always runs. A Capacity Block is prepaid at its own rate and the spot
#: burst comes and goes, so neither is covered (an ODCR guarantees capacity at the on-demand rate; a Savings Plan or
#: CUD lowers the rate of the same always-on usage: the two combine).
FLOOR_TIERS = ("reserved", "on-demand")
#: Said wherever a commitment appears: the toolkit prices it and never buys it.
PURCHASE_NOTE = ("priced only: a 1- or 3-year commitment is an irreversible purchase made outside Pulumi "
                 "(billing console or CLI); the policy pack's budget still prices the floor at on-demand")


@dataclass(frozen=True)
class CommitmentLine:
    """The saving one pool's commitment buys, for the plan report.

    Attributes:
        pool: The GPU pool.
        commitment: ``savings_plan_1y`` ... ``cud_3y``.
        instance_type: The floor's type (the rate is per node-hour of it).
        region: Where the floor runs (rates are regional).
        nodes: Floor nodes the commitment covers.
        on_demand_monthly / committed_monthly: USD per 730-hour month of the floor at either rate.
        source / as_of: Provenance of the committed rate.
    """

    pool: str
    commitment: str
    instance_type: str
    region: str
    nodes: int
    on_demand_monthly: float
    committed_monthly: float
    source: str
    as_of: str

    @property
    def saving_monthly(self) -> float:
        """USD per month saved against on-demand."""
        return self.on_demand_monthly - self.committed_monthly

    def to_json(self) -> dict:
        """One row of ``cost.commitments``."""
        saving = self.saving_monthly
        pct = 100 * saving / self.on_demand_monthly if self.on_demand_monthly else 0.0
        return {"pool": self.pool, "commitment": self.commitment, "instance_type": self.instance_type,
                "region": self.region, "nodes": self.nodes, "on_demand_monthly": round(self.on_demand_monthly, 2),
                "committed_monthly": round(self.committed_monthly, 2), "saving_monthly": round(saving, 2),
                "saving_pct": round(pct, 1), "source": self.source, "as_of": self.as_of, "note": PURCHASE_NOTE}


def check_commitments(basis: PlanBasis) -> None:
    """Refuse a commitment of the other cloud, on a pool with no floor, or without a dated rate for its type.

    Raises:
        ConfigError: naming ``<cloud>.gpu_pools[i].capacity.commitment``, the value and what is allowed.
    """
    spec = basis.spec
    for cloud, section in (("aws", spec.aws), ("gcp", spec.gcp)):
        for index, pool in enumerate(section.gpu_pools if section else []):
            commitment = pool.capacity.commitment
            if commitment == "none":
                continue
            path = key_path((cloud, "gpu_pools", index, "capacity", "commitment"))
            if COMMITMENT_CLOUD[commitment] != cloud:
                allowed = "|".join(k for k, c in COMMITMENT_CLOUD.items() if c == cloud)
                raise ConfigError(path, f"{commitment!r} is sold on {COMMITMENT_CLOUD[commitment].upper()}; "
                                        f"{cloud} pools take none|{allowed}")
            if pool.capacity.floor == 0:
                raise ConfigError(path, f"{commitment!r} needs an always-on floor (reserved or on_demand > 0); "
                                        "the spot burst is not committed")
            region = spec.pool_region(cloud, pool)
            if commitment_rate(cloud, pool.instance_types[0], region, commitment) is None:
                known = ", ".join(priced_commitments(cloud, commitment)) or "none yet"
                raise ConfigError(path, f"{commitment!r}: no dated rate for {pool.instance_types[0]} in {region} in "
                                        f"components/catalog/data/commitments.yaml (priced: {known}); set none or "
                                        "add the rate with its source and date (AWS: scripts/refresh_catalog.py --savings-plans)")


def committed_rate(basis: PlanBasis, ladder: LadderPlan, rung: Rung) -> float | None:
    """USD per node-hour of ``rung`` under its pool's commitment; None when the rung is not committed."""
    pool = next(p for _, p in basis.spec.pools() if p.name == ladder.pool)
    if pool.capacity.commitment == "none" or rung.tier not in FLOOR_TIERS:
        return None
    rate = commitment_rate(ladder.cloud, rung.instance_types[0], ladder.region, pool.capacity.commitment)
    return rate.usd if rate else None


def plan_commitments(basis: PlanBasis) -> tuple[CommitmentLine, ...]:
    """The saving of every committed floor against on-demand (checked by ``check_commitments`` first)."""
    lines = []
    for cloud, pool in basis.spec.pools():
        commitment = pool.capacity.commitment
        if commitment == "none":
            continue
        ladder = basis.ladder(pool.name)
        itype, nodes = pool.instance_types[0], pool.capacity.floor
        rate = commitment_rate(cloud, itype, ladder.region, commitment)
        price = load_catalog().price(cloud, itype, ladder.region)
        if rate is None or price is None:
            continue
        lines.append(CommitmentLine(
            pool=pool.name, commitment=commitment, instance_type=itype, region=ladder.region, nodes=nodes,
            on_demand_monthly=nodes * price.on_demand * HOURS_PER_MONTH,
            committed_monthly=nodes * rate.usd * HOURS_PER_MONTH, source=rate.source, as_of=rate.as_of.isoformat()))
    return tuple(lines)
