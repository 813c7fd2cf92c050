"""Candidate nodes for a model: every catalog (instance type, TP) fit, priced, sorted cheapest feasible first.

Price: the node's on-demand USD/hour in the requested region, or, with no region, in the cheapest region the
catalog prices it in. Types without a price in the requested region are left out (nothing to compare).

$ per million output tokens is shown only for feasible fits when a throughput reference (catalog throughput.yaml) matches the same
GPU, model size class, weight dtype and GPUs per replica (ref.gpus == tp); node throughput is then
replicas_per_node x the reference figure. Nothing is scaled across TP sizes or GPUs. With several matches the
lowest figure is used (conservative). References are saturation benchmarks, so real $/Mtok is higher.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from components.catalog import Catalog, Cloud, InstanceType, ModelArch, ThroughputRef, close_matches
from components.plan.fit import DType, FitResult, KvDType, fit

TP_SIZES = (1, 2, 4, 8)


@dataclass(frozen=True)
class Candidate:
    """One (node, TP) option with its price.

    Attributes:
        fit: The sizing result.
        region: Region the price is for; None when the catalog has no price for the type.
        hourly_usd: On-demand USD/hour of one node; None without a price.
        usd_per_mtok: USD per million output tokens at the reference throughput; None without a matching ref.
        throughput_ref: The reference used for usd_per_mtok.
    """

    fit: FitResult
    region: str | None
    hourly_usd: float | None
    usd_per_mtok: float | None = None
    throughput_ref: ThroughputRef | None = None

    @property
    def cloud(self) -> str | None:
        """Cloud of the node."""
        return self.fit.cloud

    @property
    def instance_type(self) -> str | None:
        """Instance or machine type name."""
        return self.fit.instance_type

    @property
    def fits(self) -> bool:
        """True when the configuration fits (see FitResult.fits)."""
        return self.fit.fits


def usd_per_mtok(hourly_usd: float, tokens_per_second: float) -> float:
    """USD per million tokens: hourly / (tokens per second x 3600 / 1e6)."""
    return hourly_usd / (tokens_per_second * 3600 / 1e6)


def match_throughput(arch: ModelArch, result: FitResult, refs: Iterable[ThroughputRef]) -> ThroughputRef | None:
    """Returns the lowest matching reference (same GPU, size class, dtype and GPUs per replica), or None."""
    if arch.size_class is None:
        return None
    matches = [r for r in refs if r.gpu == result.gpu and r.size_class == arch.size_class
               and r.dtype == result.dtype and r.gpus == result.tp]
    return min(matches, key=lambda r: r.output_tok_s, default=None)


def _instances(catalog: Catalog, cloud: Cloud | None, instance_types: Iterable[str] | None) -> list[InstanceType]:
    clouds = [cloud] if cloud else ["aws", "gcp"]
    pool = [catalog.instance(c, n) for c in clouds for n in catalog.instance_names(c)]
    if instance_types is None:
        return pool
    wanted = list(instance_types)
    names = {i.name for i in pool}
    unknown = [n for n in wanted if n not in names]
    if unknown:
        raise ValueError(f"unknown instance type {unknown[0]!r}; close matches: {close_matches(unknown[0], names)}")
    return [i for i in pool if i.name in wanted]


def _region_price(catalog: Catalog, inst: InstanceType, region: str | None) -> tuple[str | None, float | None]:
    if region is not None:
        price = catalog.price(inst.cloud, inst.name, region)
        return (region, price.on_demand) if price else (None, None)
    priced = [(catalog.price(inst.cloud, inst.name, r).on_demand, r) for r in catalog.regions(inst.cloud, inst.name)]
    if not priced:
        return None, None
    hourly, best = min(priced)
    return best, hourly


def _sort_key(c: Candidate):
    f = c.fit
    return (not f.fits, c.hourly_usd is None, c.hourly_usd or 0.0, c.usd_per_mtok is None,
            c.usd_per_mtok or 0.0, -f.replicas_per_node * f.max_concurrency, f.cloud or "", f.instance_type or "",
            f.tp)


def candidates(arch: ModelArch, catalog: Catalog, *, cloud: Cloud | None = None, region: str | None = None,
               instance_types: Iterable[str] | None = None, dtype: DType, kv_cache_dtype: KvDType = "auto",
               max_model_len: int, concurrency: int, gpu_memory_utilization: float = 0.9) -> list[Candidate]:
    """Sizes the model on every matching catalog node at every TP in (1, 2, 4, 8) up to its GPUs.

    Args:
        arch: Model architecture.
        catalog: The catalog.
        cloud: Restrict to one cloud (None: both).
        region: Price in this region and drop types without a price there (None: cheapest region per type).
        instance_types: Restrict to these type names (None: all).
        dtype, kv_cache_dtype, max_model_len, concurrency, gpu_memory_utilization: As in fit().

    Returns:
        Feasible first, then by node USD/hour, then USD/Mtok (unknown last), then larger sequence capacity.

    Raises:
        ValueError: an unknown instance type name (with close matches).
    """
    rows = []
    for inst in _instances(catalog, cloud, instance_types):
        where, hourly = _region_price(catalog, inst, region)
        if region is not None and where is None:
            continue
        for tp in (t for t in TP_SIZES if t <= inst.gpu_count):
            result = fit(arch, inst, tp, dtype=dtype, kv_cache_dtype=kv_cache_dtype, max_model_len=max_model_len,
                         concurrency=concurrency, gpu_memory_utilization=gpu_memory_utilization)
            ref = match_throughput(arch, result, catalog.throughput_refs()) if result.fits else None
            per_mtok = None
            if ref and hourly is not None:
                per_mtok = usd_per_mtok(hourly, ref.output_tok_s * result.replicas_per_node)
            rows.append(Candidate(fit=result, region=where, hourly_usd=hourly, usd_per_mtok=per_mtok,
                                  throughput_ref=ref))
    return sorted(rows, key=_sort_key)


def choose(arch: ModelArch, catalog: Catalog, **kwargs) -> Candidate | None:
    """Returns the cheapest feasible priced candidate (same keyword arguments as candidates()), or None."""
    return next((c for c in candidates(arch, catalog, **kwargs) if c.fits and c.hourly_usd is not None), None)
