"""Checks across sections and against the catalog, each failing with the key path of the bad value."""
from __future__ import annotations

import re
from collections.abc import Iterator

from components.catalog import load_catalog
from components.spec.base import Cloud
from components.spec.capacity import GpuPoolSpec
from components.spec.errors import ConfigError, close_matches, key_path
from components.spec.stack import StackSpec


def _known_type(cloud: Cloud, name: str, loc: tuple) -> None:
    catalog = load_catalog()
    if catalog.instance(cloud, name) is None:
        known = catalog.instance_names(cloud)
        hint = close_matches(name, known, n=1)
        did = f"did you mean {hint[0]!r}? " if hint else ""
        kind = "instance type" if cloud == "aws" else "machine type"
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
    if cloud == "aws" and pool.flex_start:
        raise ConfigError(key_path((*loc, "flex_start")), "true is GCP only (AWS uses capacity blocks)")


def _reservation_names(spec: StackSpec, cloud: Cloud) -> dict[str, tuple[str, int, str, str]]:
    """Reservation name -> (list key, index, instance type, region) for one cloud."""
    out: dict[str, tuple[str, int, str, str]] = {}
    if cloud == "aws" and spec.aws:
        for i, r in enumerate(spec.aws.reservations):
            out[r.name] = ("reservations", i, r.instance_type, r.region or spec.aws.region or "")
        for i, b in enumerate(spec.aws.capacity_blocks):
            out[b.name] = ("capacity_blocks", i, b.instance_type, b.region or spec.aws.region or "")
    if cloud == "gcp" and spec.gcp:
        for i, g in enumerate(spec.gcp.reservations):
            out[g.name] = ("reservations", i, g.machine_type, g.zone.rsplit("-", 1)[0])
    return out


def _check_reservations(spec: StackSpec, cloud: Cloud) -> None:
    section = spec.aws if cloud == "aws" else spec.gcp
    if section is None:
        return
    reservations = _reservation_names(spec, cloud)
    for key, index, itype, _ in reservations.values():
        _known_type(cloud, itype, (cloud, key, index, "instance_type" if cloud == "aws" else "machine_type"))
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


def _check_gcp_shapes(spec: StackSpec) -> None:
    """GCP specific reservations must match their consumers exactly (else GCE silently never uses them);
    VM-mode pools serve one model each (one startup script, one vLLM per VM)."""
    if spec.gcp is None:
        return
    from components.plan.gcp_shapes import consumers, node_shape  # noqa: PLC0415 (plan imports spec)

    bucket = spec.gcp.weights_bucket
    if bucket.encryption == "kms" and not bucket.kms_key:
        raise ConfigError(key_path(("gcp", "weights_bucket", "kms_key")),
                          "is required with encryption 'kms' on GCP (an existing CMEK key: "
                          "projects/<p>/locations/<region>/keyRings/<ring>/cryptoKeys/<key>)")
    for index, res in enumerate(spec.gcp.reservations):
        loc = ("gcp", "reservations", index)
        for pool in consumers(spec, res.name):
            shape = node_shape(spec, pool, res.machine_type)
            if res.local_ssd_count is not None and res.local_ssd_count != shape.local_ssd_count:
                raise ConfigError(key_path((*loc, "local_ssd_count")),
                                  f"{res.local_ssd_count} does not match the {shape.local_ssd_count} local SSDs "
                                  f"{shape.machine_type} nodes of pool {pool.name!r} attach (omit it to use theirs)")
            if pool.zones and res.zone not in pool.zones:
                raise ConfigError(key_path((*loc, "zone")),
                                  f"{res.zone!r} is outside the zones of pool {pool.name!r} ({', '.join(pool.zones)})")
        wanted = sum(p.capacity.reserved for p in consumers(spec, res.name))
        if res.count < wanted:
            raise ConfigError(key_path((*loc, "count")),
                              f"{res.count} is below the {wanted} reserved nodes its pools pin to it "
                              "(specific affinity: the rest could never start)")
    if spec.gcp.mode == "vm":
        for index, pool in enumerate(spec.gcp.gpu_pools):
            served = [m.name for m in spec.models if pool.name in m.pools]
            if len(served) != 1:
                raise ConfigError(key_path(("gcp", "gpu_pools", index, "name")),
                                  f"VM-mode pool {pool.name!r} is served by {len(served)} models "
                                  f"({', '.join(served) or 'none'}); a VM serves exactly one model")


def _check_aws_capacity(spec: StackSpec) -> None:
    """AWS: a reservation holds the reserved nodes its pools pin to it (targeted launches beyond it fail);
    VM-mode pools serve one model each (one cloud-init, one vLLM per VM)."""
    if spec.aws is None:
        return
    for index, res in enumerate(spec.aws.reservations):
        wanted = sum(p.capacity.reserved for p in spec.aws.gpu_pools if p.capacity.reservation == res.name)
        if res.count < wanted:
            raise ConfigError(key_path(("aws", "reservations", index, "count")),
                              f"{res.count} is below the {wanted} reserved nodes its pools pin to it")
    if spec.aws.mode == "vm":
        for index, pool in enumerate(spec.aws.gpu_pools):
            served = [m.name for m in spec.models if pool.name in m.pools]
            if len(served) != 1:
                raise ConfigError(key_path(("aws", "gpu_pools", index, "name")),
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
    _check_gcp_shapes(spec)
    _check_aws_capacity(spec)
    if spec.monitoring.provider == "gke-managed" and not (spec.gcp and spec.gcp.mode == "gke"):
        raise ConfigError(key_path(("monitoring", "provider")), "'gke-managed' needs a gcp section in gke mode")
    _check_replica_capacity(spec)
    _check_routing(spec)


def _check_replica_capacity(spec: StackSpec) -> None:
    """A model's replica maximum plus its canary must fit the GPU pools' ladders (ServingPlan.max_replicas).

    Each pool runs the model's bounds clamped to what that pool hosts beside the canary, so the error is
    raised when the pools together cannot host ``replicas.max`` + canary, or one pool has no room left for
    a stable replica next to its canary.
    """
    from components.plan.sizing import plan_serving  # noqa: PLC0415 (plan imports spec: load lazily)

    plans = plan_serving(spec)
    for index, model in enumerate(spec.models):
        mine = [p for p in plans if p.model == model.name and p.fits]
        if not mine:
            continue  # the fit check reports models that fit nowhere
        canary = model.canary.replicas if model.canary else 0
        for plan in mine:
            if canary and plan.max_replicas - canary < 1:
                raise ConfigError(
                    key_path(("models", index, "canary", "replicas")),
                    f"{canary} canary replicas leave no room on pool {plan.pool!r}, whose ladder hosts "
                    f"{plan.max_replicas} replicas of {model.name} (TP {plan.tp}, {plan.replicas_per_node} per node)")
        hosted = sum(p.max_replicas for p in mine)
        if model.replicas.max + canary * len(mine) > hosted:
            detail = ", ".join(f"{p.pool}: {p.max_replicas}" for p in mine)
            raise ConfigError(
                key_path(("models", index, "replicas", "max")),
                f"{model.replicas.max} replicas (+{canary * len(mine)} canary) exceed the {hosted} replicas the pools' "
                f"ladders can host ({detail}); lower replicas.max or raise the pools' capacity")


def _check_routing(spec: StackSpec) -> None:
    """The router's rules reach served models and do not shadow each other (see components/plan/routing.py)."""
    routing = spec.serving.routing
    if not routing.enabled:
        return
    from components.plan.routing import DEFAULT_CLIENT, ROUTER_ALIAS, served_by_cluster  # noqa: PLC0415

    loc = ("serving", "routing")
    routed = {m for _, _, served in served_by_cluster(spec).values() for m in served}
    if not routed:
        raise ConfigError(key_path((*loc, "enabled")), "true needs a model served on an eks or gke cluster "
                          "(the router runs on Kubernetes; VM-mode pools are reached directly)")
    for index, model in enumerate(spec.models):
        if model.name == ROUTER_ALIAS:
            raise ConfigError(key_path(("models", index, "name")), f"{ROUTER_ALIAS!r} is the router's alias "
                              "for 'pick by tier'; rename the model")
    targets = [((*loc, "default_model"), routing.default_model)] if routing.default_model else []
    targets += [((*loc, "tiers", i, "model"), t.model) for i, t in enumerate(routing.tiers)]
    for key, model in targets:
        _check_routed_model(spec, key, model, routed)
    seen: dict[str, int] = {}
    for index, tier in enumerate(routing.tiers):
        if tier.value in seen:
            raise ConfigError(key_path((*loc, "tiers", index, "value")), f"{tier.value!r} is shadowed by "
                              f"tiers[{seen[tier.value]}] (first match wins); remove one of the two rules")
        seen[tier.value] = index
    _check_router_headers(routing, loc)
    _unique([*routing.clients], (*loc, "clients"), "client")
    known = [DEFAULT_CLIENT, *routing.clients]
    for index, client in enumerate(routing.clients):
        if client == DEFAULT_CLIENT:
            raise ConfigError(key_path((*loc, "clients", index)), f"{DEFAULT_CLIENT!r} is implicit "
                              "(the gpuinfra:vllm_api_key client); remove it")
    for index, client in enumerate(routing.internal_clients):
        if client not in known:
            raise ConfigError(key_path((*loc, "internal_clients", index)),
                              f"{client!r} is not a client (known: {', '.join(known)})")
    if routing.clients and "router_api_keys" not in spec.secrets:
        raise ConfigError(key_path((*loc, "clients")), "needs the secret gpuinfra:router_api_keys "
                          '(pulumi config set --secret gpuinfra:router_api_keys \'{"<client>": "<key>"}\')')


def _check_routed_model(spec: StackSpec, loc: tuple, model: str, routed: set[str]) -> None:
    names = [m.name for m in spec.models]
    if model not in names:
        hint = close_matches(model, names, n=1)
        did = f"did you mean {hint[0]!r}? " if hint else ""
        raise ConfigError(key_path(loc), f"{model!r} is not a served model ({did}models: {', '.join(names)})")
    if model not in routed:
        raise ConfigError(key_path(loc), f"{model!r} is served in no cluster the router runs in (only on "
                          "VM-mode pools); route to a model on an eks or gke pool")


def _check_router_headers(routing, loc: tuple) -> None:
    """Each routing header means one thing: a shared name would make one rule shadow another."""
    keys = ("tier_header", "override_header", "user_header", "client_header")
    from components.plan.routing import RESERVED_HEADERS  # noqa: PLC0415

    seen: dict[str, str] = {h: "set by the gateway" for h in RESERVED_HEADERS}
    for key in keys:
        name = getattr(routing, key).lower()
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
            raise ConfigError(key_path((*loc, key)), f"{name!r} is not a header name (letters, digits, '-')")
        if name in seen:
            raise ConfigError(key_path((*loc, key)), f"{name!r} is also {seen[name]}; use distinct headers")
        seen[name] = key
