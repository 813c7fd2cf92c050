"""Checks across sections and against the catalog, each failing with the key path of the bad value.

Checks that need the planner (reservation shapes, replica capacity, routing coverage) live in
``components.plan.checks`` and run inside ``plan_stack``, still before anything is registered.
"""
from __future__ import annotations

from collections.abc import Iterator

from components.catalog import load_catalog
from components.spec.base import Cloud
from components.spec.capacity import GpuPoolSpec
from components.spec.errors import ConfigError, close_matches, key_path
from components.spec.stack import StackSpec
from components.catalog.vocab import AWS, CLOUDS, GCP


def _known_type(cloud: Cloud, name: str, loc: tuple) -> None:
    catalog = load_catalog()
    if catalog.instance(cloud, name) is None:
        known = catalog.instance_names(cloud)
        hint = close_matches(name, known, n=1)
        did = f"did you mean {hint[0]!r}? " if hint else ""
        kind = "instance type" if cloud == AWS else "machine type"
        raise ConfigError(key_path(loc), f"{name!r} is not a known {kind} ({did}known: {', '.join(known)})")


def _unique(names: list[str], loc: tuple, what: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise ConfigError(key_path((*loc, index, "name")), f"{what} name {name!r} is used twice")
        seen.add(name)


def _check_pool(spec: StackSpec, cloud: Cloud, index: int, pool: GpuPoolSpec) -> None:
    catalog = load_catalog()
    loc = (cloud, "gpu_pools", index)
    for i, name in enumerate(pool.instance_types):
        _known_type(cloud, name, (*loc, "instance_types", i))
    types = [catalog.instance(cloud, t) for t in pool.instance_types]
    first = types[0]
    for i, other in enumerate(types[1:], start=1):
        if abs(other.vram_gib_per_gpu - first.vram_gib_per_gpu) > 0.02 * first.vram_gib_per_gpu:
            raise ConfigError(
                key_path((*loc, "instance_types", i)),
                f"{other.name!r} has {other.gpu.name} ({other.vram_gib_per_gpu:.1f} GiB) but {first.name} has "
                f"{first.gpu.name} ({first.vram_gib_per_gpu:.1f} GiB): a pool holds one GPU class (same VRAM per GPU)",
            )
    region = spec.pool_region(cloud, pool)
    primary = pool.instance_types[0]
    if catalog.price(cloud, primary, region) is None:
        regions = catalog.regions(cloud, primary)
        raise ConfigError(
            key_path((*loc, "region")),
            f"{region!r} has no catalog price for {primary} (priced regions: {', '.join(regions)}); "
            "refresh the catalog or pick a priced region",
        )
    if cloud == AWS and pool.flex_start:
        raise ConfigError(key_path((*loc, "flex_start")), "true is GCP only (AWS uses capacity blocks)")


def _reservation_names(spec: StackSpec, cloud: Cloud) -> dict[str, tuple[str, int, str, str]]:
    """Reservation name -> (list key, index, instance type, region) for one cloud."""
    out: dict[str, tuple[str, int, str, str]] = {}
    if cloud == AWS and spec.aws:
        for i, r in enumerate(spec.aws.reservations):
            out[r.name] = ("reservations", i, r.instance_type, r.region or spec.aws.region or "")
        for i, b in enumerate(spec.aws.capacity_blocks):
            out[b.name] = ("capacity_blocks", i, b.instance_type, b.region or spec.aws.region or "")
    if cloud == GCP and spec.gcp:
        for i, g in enumerate(spec.gcp.reservations):
            out[g.name] = ("reservations", i, g.machine_type, g.zone.rsplit("-", 1)[0])
    return out


def _check_reservations(spec: StackSpec, cloud: Cloud) -> None:
    section = spec.section(cloud)
    if section is None:
        return
    reservations = _reservation_names(spec, cloud)
    for key, index, itype, _ in reservations.values():
        _known_type(cloud, itype, (cloud, key, index, "instance_type" if cloud == AWS else "machine_type"))
    _unique([n for n in reservations], (cloud, "reservations"), "reservation")
    for index, pool in enumerate(section.gpu_pools):
        name = pool.capacity.reservation
        if name is None:
            continue
        loc = (cloud, "gpu_pools", index, "capacity", "reservation")
        if name not in reservations:
            raise ConfigError(key_path(loc), f"{name!r} is not a reservation of {cloud} (known: {', '.join(reservations) or 'none'})")
        _, _, itype, region = reservations[name]
        if itype != pool.instance_types[0]:
            raise ConfigError(key_path(loc), f"{name!r} reserves {itype} but the pool's first type is {pool.instance_types[0]}")
        if region != spec.pool_region(cloud, pool):
            raise ConfigError(key_path(loc), f"{name!r} is in {region} but the pool is in {spec.pool_region(cloud, pool)}")


def _check_models(spec: StackSpec) -> None:
    catalog = load_catalog()
    pool_names = [pool.name for _, pool in spec.pools()]
    _unique([m.name for m in spec.models], ("models",), "model")
    for index, model in enumerate(spec.models):
        if model.architecture is None and catalog.model(model.hf_repo) is None:
            hint = close_matches(model.hf_repo, catalog.model_ids(), n=1)
            did = f"did you mean {hint[0]!r}? " if hint else ""
            raise ConfigError(
                key_path(("models", index, "hf_repo")),
                f"{model.hf_repo!r} is not in the model catalog ({did}or give 'architecture' numbers)",
            )
        for i, pool in enumerate(model.pools):
            if pool not in pool_names:
                raise ConfigError(
                    key_path(("models", index, "pools", i)),
                    f"{pool!r} is not a GPU pool of this stack (pools: {', '.join(pool_names)})",
                )


def _check_gcp_bucket(spec: StackSpec) -> None:
    if spec.gcp is None:
        return
    bucket = spec.gcp.weights_bucket
    if bucket.encryption == "kms" and not bucket.kms_key:
        raise ConfigError(key_path(("gcp", "weights_bucket", "kms_key")),
                          "is required with encryption 'kms' on GCP (an existing CMEK key: "
                          "projects/<p>/locations/<region>/keyRings/<ring>/cryptoKeys/<key>)")


def _check_reservation_counts(spec: StackSpec, cloud: Cloud) -> None:
    """A reservation holds the reserved nodes its pools pin to it (targeted launches beyond it never start)."""
    section = spec.section(cloud)
    if section is None:
        return
    for index, res in enumerate(section.reservations):
        wanted = sum(p.capacity.reserved for p in section.gpu_pools if p.capacity.reservation == res.name)
        if res.count < wanted:
            raise ConfigError(key_path((cloud, "reservations", index, "count")),
                              f"{res.count} is below the {wanted} reserved nodes its pools pin to it")


def _check_vm_pools(spec: StackSpec) -> None:
    """A VM-mode pool serves exactly one model (one boot script, one vLLM per VM)."""
    for cloud, index, pool in _pools_with_loc(spec):
        section = spec.section(cloud)
        if section.mode != "vm":
            continue
        served = [m.name for m in spec.models if pool.name in m.pools]
        if len(served) != 1:
            raise ConfigError(key_path((cloud, "gpu_pools", index, "name")),
                              f"VM-mode pool {pool.name!r} is served by {len(served)} models "
                              f"({', '.join(served) or 'none'}); a VM serves exactly one model")


def _pools_with_loc(spec: StackSpec) -> Iterator[tuple[Cloud, int, GpuPoolSpec]]:
    for cloud, section in (("aws", spec.aws), ("gcp", spec.gcp)):
        if section is not None:
            for index, pool in enumerate(section.gpu_pools):
                yield cloud, index, pool  # type: ignore[misc]


def check_stack(spec: StackSpec) -> None:
    """Raise ``ConfigError`` for the first cross-section or catalog problem of ``spec``."""
    names = [pool.name for _, pool in spec.pools()]
    for cloud, index, pool in _pools_with_loc(spec):
        if names.count(pool.name) > 1:
            raise ConfigError(key_path((cloud, "gpu_pools", index, "name")), f"pool name {pool.name!r} is used twice")
        _check_pool(spec, cloud, index, pool)
    _check_reservations(spec, "aws")
    _check_reservations(spec, "gcp")
    _check_models(spec)
    _check_gcp_bucket(spec)
    for cloud in CLOUDS:
        _check_reservation_counts(spec, cloud)
    _check_vm_pools(spec)
    if spec.monitoring.provider == "gke-managed" and not (spec.gcp and spec.gcp.mode == "gke"):
        raise ConfigError(key_path(("monitoring", "provider")), "'gke-managed' needs a gcp section in gke mode")
