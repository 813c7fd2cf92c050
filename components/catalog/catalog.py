"""The loaded catalog: lookups over GPUs, instance types, prices, models and throughput references."""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from components.catalog.types import Cloud, GpuModel, InstanceType, ModelArch, Price, ThroughputRef


def close_matches(word: str, options: Iterable[str], n: int = 3) -> list[str]:
    """Returns up to n options close to word (case-insensitive), best first, for "did you mean" messages."""
    options = list(options)
    by_lower = {o.lower(): o for o in options}
    hits = difflib.get_close_matches(word.lower(), list(by_lower), n=n, cutoff=0.6)
    if not hits:  # a fragment such as "llama-3.1-8b" still deserves suggestions
        hits = [o for o in by_lower if word.lower() in o][:n]
    return [by_lower[h] for h in hits]


#: One price-staleness threshold for the whole toolkit (days): the spec default (``policy.catalog_max_age_days``),
#: the catalog-freshness policy default and ``scripts/size.py`` (which used 90 while the spec said 120).
PRICE_MAX_AGE_DAYS = 120


@dataclass(frozen=True)
class Catalog:
    """Immutable view over the catalog data (build it with load_catalog or load_catalog_from).

    Attributes:
        local_ssd_usd_per_gib_month: GCP Local SSD price, USD per GiB-month.
    """

    gpus: Mapping[str, GpuModel]
    instances: Mapping[tuple[str, str], InstanceType]
    prices: Mapping[tuple[str, str], Mapping[str, Price]]
    models: Mapping[str, ModelArch]
    throughput: tuple[ThroughputRef, ...]
    local_ssd_usd_per_gib_month: float
    local_ssd_source: str = ""

    def instance(self, cloud: Cloud, name: str) -> InstanceType | None:
        """Returns the instance (AWS) or machine (GCP) type, None when the catalog does not know it."""
        return self.instances.get((cloud, name))

    def instance_names(self, cloud: Cloud) -> list[str]:
        """Returns the sorted names of a cloud's GPU instance types."""
        return sorted(name for c, name in self.instances if c == cloud)

    def price(self, cloud: Cloud, name: str, region: str) -> Price | None:
        """Returns the price of one node in a region, None when the catalog has no price there."""
        return self.prices.get((cloud, name), {}).get(region)

    def regions(self, cloud: Cloud, name: str) -> list[str]:
        """Returns the sorted regions with a price for the type ([] when unknown)."""
        return sorted(self.prices.get((cloud, name), {}))

    def all_regions(self, cloud: Cloud) -> list[str]:
        """Returns every region the catalog prices anything in, sorted."""
        return sorted({r for (c, _), by_region in self.prices.items() if c == cloud for r in by_region})

    def gpu(self, name: str) -> GpuModel:
        """Returns a GPU model.

        Raises:
            KeyError: unknown name (the message lists close matches).
        """
        if name not in self.gpus:
            raise KeyError(f"unknown GPU model {name!r}; close matches: {close_matches(name, self.gpus)}")
        return self.gpus[name]

    def model(self, hf_repo: str) -> ModelArch | None:
        """Returns a model architecture by Hugging Face repo id, None when unknown."""
        return self.models.get(hf_repo)

    def model_ids(self) -> list[str]:
        """Returns the sorted Hugging Face repo ids the catalog knows."""
        return sorted(self.models)

    @staticmethod
    def close_matches(word: str, options: Iterable[str], n: int = 3) -> list[str]:
        """See the module function close_matches."""
        return close_matches(word, options, n)

    def throughput_refs(self) -> list[ThroughputRef]:
        """Returns the reference throughput figures (published benchmarks, not measurements)."""
        return list(self.throughput)

    @property
    def as_of(self) -> datetime.date:
        """The oldest on-demand price date: the staleness a user should worry about."""
        return min(p.as_of for by_region in self.prices.values() for p in by_region.values())

    def price_dates(self) -> dict[tuple[str, datetime.date], list[str]]:
        """Groups on-demand price rows by (cloud, as_of): value = sorted "type@region" keys."""
        groups: dict[tuple[str, datetime.date], list[str]] = {}
        for (cloud, name), by_region in self.prices.items():
            for region, p in by_region.items():
                groups.setdefault((cloud, p.as_of), []).append(f"{name}@{region}")
        return {k: sorted(v) for k, v in sorted(groups.items())}

    def stale_warnings(self, today: datetime.date, max_age_days: int) -> list[str]:
        """Returns one line per (cloud, on-demand price date) older than max_age_days, oldest first.

        Spot samples are dated separately (Price.spot_as_of) and are always indicative; they are not listed.
        """
        lines = []
        for (cloud, as_of), keys in self.price_dates().items():
            age = (today - as_of).days
            if age > max_age_days:
                lines.append(f"catalog price data for {cloud} from {as_of.isoformat()} is {age} days old "
                             f"(limit {max_age_days}, {len(keys)} prices): run scripts/refresh_catalog.py")
        return lines
