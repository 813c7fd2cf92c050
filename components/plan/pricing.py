"""Unit prices shared by the plan's cost model and the policy pack: one node, one reserved node, local SSD."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from components.catalog import load_catalog
from components.catalog.services import service_price
from components.plan.storage import GCP_LOCAL_SSD_GB, billed_local_ssd
from components.catalog.vocab import Cloud

HOURS_PER_MONTH = 730
GB_PER_GIB = 1.073741824
#: Load balancer capacity units billed per hour beyond the hourly fee. Assumption: LLM traffic is small in bytes
#: and connections (1 NLCU = 800 new TCP flows/s, 100k active flows or 1 GB/h, the ELB pricing dimensions as listed
#: by handbook.vantage.sh/aws/services/elb-pricing), so one unit-hour.
LCU_PER_HOUR = 1.0


@dataclass(frozen=True)
class Hourly:
    """USD per hour in the three scenarios (best <= expected <= worst)."""

    best: float
    expected: float
    worst: float

    @staticmethod
    def flat(usd: float) -> "Hourly":
        """A cost that does not depend on spot luck."""
        return Hourly(usd, usd, usd)

    def __add__(self, other: "Hourly") -> "Hourly":
        return Hourly(self.best + other.best, self.expected + other.expected, self.worst + other.worst)

    def monthly(self) -> "Hourly":
        """The same cost over a 730-hour month."""
        return Hourly(self.best * HOURS_PER_MONTH, self.expected * HOURS_PER_MONTH, self.worst * HOURS_PER_MONTH)


def node_hourly(cloud: Cloud, region: str, purchase: str, instance_types: Sequence[str],
                spot_availability: float) -> Hourly:
    """Price of one node bought as ``purchase``: the one pricing rule the plan and the policy pack share.

    Args:
        cloud: "aws" or "gcp".
        region: Region the node runs in.
        purchase: "reserved", "capacity-block", "on-demand" or "spot".
        instance_types: The rung's types; the first is priced, spot takes the cheapest priced spot sample.
        spot_availability: Share of spot nodes assumed to get spot capacity in the expected case.

    Returns:
        USD per node-hour (spot: best = spot, worst = on-demand, expected = the blend).

    Raises:
        LookupError: the first type has no price in the region.
    """
    catalog = load_catalog()
    price = catalog.price(cloud, instance_types[0], region)
    if price is None:
        raise LookupError(f"no catalog price for {cloud} {instance_types[0]} in {region}")
    od = price.on_demand
    if purchase == "capacity-block":
        return Hourly.flat(price.capacity_block or od)
    if purchase in ("reserved", "on-demand"):
        return Hourly.flat(od)
    spots = [p.spot for t in instance_types if (p := catalog.price(cloud, t, region)) and p.spot]
    spot = min(spots) if spots else od  # unknown spot price: assume no discount
    return Hourly(best=spot, expected=spot_availability * spot + (1 - spot_availability) * od, worst=od)


def nlb_hourly() -> float:
    """USD per hour of one AWS Network Load Balancer: the hourly fee plus ``LCU_PER_HOUR`` NLCU-hours."""
    return service_price("network", "aws_nlb_hour").usd + LCU_PER_HOUR * service_price("network", "aws_nlb_nlcu_hour").usd


def local_ssd_hourly(cloud: Cloud, instance_type: str, disks: int) -> float:
    """Billed local SSD per node-hour for ``disks`` 375 GB disks (GCP optional SSDs); 0 where bundled or instance store."""
    catalog = load_catalog()
    inst = catalog.instance(cloud, instance_type)
    if inst is None or not billed_local_ssd(inst):
        return 0.0
    return disks * GCP_LOCAL_SSD_GB / GB_PER_GIB * catalog.local_ssd_usd_per_gib_month / HOURS_PER_MONTH


def reservation_rate(cloud: Cloud, instance_type: str, region: str, purchase: str) -> float:
    """USD per reserved node-hour: the Capacity Block rate (else on-demand) for blocks, on-demand for ODCRs."""
    price = load_catalog().price(cloud, instance_type, region)
    if price is None:
        raise LookupError(f"no catalog price for {cloud} {instance_type} in {region}")
    return (price.capacity_block or price.on_demand) if purchase == "capacity-block" else price.on_demand
