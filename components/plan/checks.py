"""Checks that need the plan (run by ``plan_stack`` before anything registers): GCP reservation shapes, replica
maxima against the pools' ladders, the router's rules and canaries that need it; each fails with the key path of the bad value."""
from __future__ import annotations

import re

from components.plan.basis import PlanBasis
from components.plan.bootstrap import (BOOT_SECONDS, GCE_MAX_AUTOHEAL_DELAY_SECONDS, SECONDS_PER_WEIGHT_GIB,
                                       health_check_grace_seconds)
from components.catalog.vocab import GCP
from components.plan.commitments import check_commitments
from components.plan.gcp_shapes import consumers, gcp_version, gke_channel_minors, gke_channel_offers, node_shape
from components.plan.routing import DEFAULT_CLIENT, RESERVED_HEADERS, ROUTER_ALIAS, kubernetes_pools_by_model, served_by_cluster
from components.plan.traffic_checks import check_traffic_replicas
from components.plan.workloads import canary_replicas
from components.spec import StackSpec
from components.spec.errors import ConfigError, close_matches, key_path


def _unique(names: list[str], loc: tuple, what: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise ConfigError(key_path((*loc, index)), f"{what} {name!r} is listed twice")
        seen.add(name)


def check_replica_capacity(basis: PlanBasis) -> None:
    """A model's replica maximum plus its canary must fit the GPU pools' ladders (ServingPlan.max_replicas).

    Each pool runs the model's bounds clamped to what that pool hosts beside the canary, so the error is
    raised when the pools together cannot host ``replicas.max`` + canary, or one pool has no room left for
    a stable replica next to its canary.
    """
    spec, plans = basis.spec, basis.serving
    for index, model in enumerate(spec.models):
        mine = [p for p in plans if p.model == model.name and p.fits]
        if not mine:
            continue  # the fit check reports models that fit nowhere
        canary = canary_replicas(model)
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


def check_routing(spec: StackSpec) -> None:
    """The router's rules reach served models and do not shadow each other (see components/plan/routing.py)."""
    routing = spec.serving.routing
    if not routing.enabled:
        return
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


def check_canary_routing(spec: StackSpec) -> None:
    """A canary needs Kubernetes pools and the router: it is the only thing that splits a model's traffic by percent.

    Without it nothing installs the Gateway API CRDs, a Gateway or the body-based router an HTTPRoute would need,
    and a Kubernetes Service cannot weight its endpoints (its split would follow the replica counts instead).
    """
    on_k8s = kubernetes_pools_by_model(spec)
    for index, model in enumerate(spec.models):
        if model.canary and model.name not in on_k8s:
            # VM fleets (ASGs, MIGs) serve one revision and roll it in place: nothing would run the canary.
            raise ConfigError(key_path(("models", index, "canary")), (
                f"model {model.name!r} is served only on VM-mode pools ({', '.join(model.pools)}), which run one "
                "revision: a canary runs on eks or gke pools behind the router; serve the model on one, or roll "
                "the VM fleet by changing the revision"))
    if spec.serving.routing.enabled:
        return
    for index, model in enumerate(spec.models):
        if model.canary and model.name in on_k8s:
            raise ConfigError(key_path(("models", index, "canary")), (
                f"on Kubernetes pools ({', '.join(on_k8s[model.name])}) needs gpuinfra:serving.routing.enabled: "
                "true (it is false): only the router splits traffic between the stable and canary revisions; "
                "enable the router or remove the canary"))


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
    seen: dict[str, str] = {h: "set by the gateway" for h in RESERVED_HEADERS}
    for key in keys:
        name = getattr(routing, key).lower()
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
            raise ConfigError(key_path((*loc, key)), f"{name!r} is not a header name (letters, digits, '-')")
        if name in seen:
            raise ConfigError(key_path((*loc, key)), f"{name!r} is also {seen[name]}; use distinct headers")
        seen[name] = key


def check_gcp_shapes(basis: PlanBasis) -> None:
    """GCP specific reservations must match their consumers exactly (else GCE silently never uses them)."""
    spec = basis.spec
    if spec.gcp is None:
        return
    for index, res in enumerate(spec.gcp.reservations):
        loc = ("gcp", "reservations", index)
        for pool in consumers(spec, res.name):
            shape = node_shape(basis, pool, res.machine_type)
            if res.local_ssd_count is not None and res.local_ssd_count != shape.local_ssd_count:
                raise ConfigError(key_path((*loc, "local_ssd_count")),
                                  f"{res.local_ssd_count} does not match the {shape.local_ssd_count} local SSDs "
                                  f"{shape.machine_type} nodes of pool {pool.name!r} attach (omit it to use theirs)")
            if pool.zones and res.zone not in pool.zones:
                raise ConfigError(key_path((*loc, "zone")),
                                  f"{res.zone!r} is outside the zones of pool {pool.name!r} ({', '.join(pool.zones)})")


def check_vm_autoheal_grace(basis: PlanBasis) -> None:
    """A GCP VM-mode pool must be able to wait out its own boot: a MIG's autohealing delay is capped at 3600 s, and a
    VM still copying weights past the delay fails its health check and is recreated, forever (issue 18 item 8)."""
    spec = basis.spec
    if spec.gcp is None or spec.gcp.mode != "vm":
        return
    for plan in basis.serving:
        if plan.cloud != GCP or not plan.fits:
            continue
        grace = health_check_grace_seconds(plan.weights_gib)
        if grace > GCE_MAX_AUTOHEAL_DELAY_SECONDS:
            most = (GCE_MAX_AUTOHEAL_DELAY_SECONDS - BOOT_SECONDS) / SECONDS_PER_WEIGHT_GIB
            raise ConfigError(
                key_path(("gcp", "mode")),
                f"'vm' cannot serve {plan.model!r} on pool {plan.pool!r}: its {plan.weights_gib:.0f} GiB of weights "
                f"need {grace} s to boot, above Compute Engine's {GCE_MAX_AUTOHEAL_DELAY_SECONDS} s autohealing delay "
                f"(VM mode holds at most about {most:.0f} GiB); serve it with gcp.mode 'gke' or a smaller dtype")


def check_gke_version(basis: PlanBasis) -> None:
    """The pinned GKE minor must be one the cluster's release channel offers: GKE refuses a ``min_master_version``
    its channel does not carry (GKE release notes, "Current versions"; the table is versions.yaml gcp.gke_channels)."""
    gcp = basis.spec.gcp
    if gcp is None or gcp.mode != "gke" or not gcp.gpu_pools:
        return
    channel, pinned = gcp.gke.release_channel, gcp_version("gke_kubernetes")
    if not gke_channel_offers(channel, pinned):
        lo, hi = gke_channel_minors(channel)
        offering = [c for c in ("RAPID", "REGULAR", "STABLE") if gke_channel_offers(c, pinned)]
        raise ConfigError(key_path(("gcp", "gke", "release_channel")),
                          f"{channel!r} offers GKE {lo} to {hi}, not the pinned {pinned} (versions.yaml "
                          f"gcp.gke_kubernetes); use one of: {', '.join(offering) or 'none (re-pin the version)'}")


def _covered(cidr, allowed) -> bool:
    return any(cidr.version == a.version and cidr.subnet_of(a) for a in allowed)


def check_deployer_reach(spec: StackSpec) -> None:
    """The machine running ``pulumi up`` installs the serving layer through each cluster's API endpoint, so it must
    reach it as configured (issue 17 item 1, issue 18 item 11).

    EKS: with ``endpointPublicAccess`` false the API answers only inside the VPC (EKS user guide, "Cluster API
    server endpoint"); a public endpoint answers only ``publicAccessCidrs``. GKE: with authorized networks set the
    endpoint answers only them (GKE docs, "About network isolation": authorized networks); an empty list leaves a
    public endpoint open to every address, refused in prod."""
    deployer = spec.deployer
    external = deployer.runner == "external"
    loc = ("deployer",)
    if spec.aws is not None and spec.aws.mode == "eks" and spec.aws.gpu_pools:
        eks = spec.aws.eks
        if external and not eks.endpoint_public_access:
            raise ConfigError(key_path((*loc, "runner")), "'external' cannot reach the EKS API: "
                              "aws.eks.endpoint_public_access is false (private endpoint, VPC only); run the deploy "
                              "on a runner inside the VPC (runner 'in-network' with network_cidrs, picked by the "
                              "repository variable DEPLOY_RUNNER) or open the endpoint to deployer.egress_cidrs")
        if external and not deployer.egress_cidrs:
            raise ConfigError(key_path((*loc, "egress_cidrs")), "is empty: an external runner must name its public "
                              "egress CIDRs, each inside aws.eks.public_access_cidrs")
        for index, cidr in enumerate(deployer.egress_cidrs if external else []):
            if not _covered(cidr, eks.public_access_cidrs):
                raise ConfigError(key_path((*loc, "egress_cidrs", index)), f"{cidr} is outside "
                                  "aws.eks.public_access_cidrs: the EKS API would refuse the deployer")
    gcp = spec.gcp
    if gcp is not None and gcp.mode == "gke" and gcp.gpu_pools:
        authorized = gcp.gke.master_authorized_cidrs
        if not authorized and spec.environment == "prod":
            raise ConfigError(key_path(("gcp", "gke", "master_authorized_cidrs")),
                              "is empty, which lets any address reach the prod GKE control plane; list the "
                              "deployer's CIDRs (deployer.egress_cidrs or network_cidrs) and the operators' networks")
        cidrs, key = ((deployer.egress_cidrs, "egress_cidrs") if external else (deployer.network_cidrs, "network_cidrs"))
        for index, cidr in enumerate(cidrs):
            # A private endpoint admits other internal ranges only as authorized networks; a public one with
            # authorized networks admits only them.
            if (authorized or not external) and not _covered(cidr, authorized):
                raise ConfigError(key_path((*loc, key, index)), f"{cidr} is outside gcp.gke.master_authorized_cidrs: "
                                  "the GKE control plane would refuse the deployer")


def check_plan(basis: PlanBasis) -> None:
    """Raise ``ConfigError`` for the first problem only the plan can see (run before anything registers)."""
    check_gcp_shapes(basis)
    check_vm_autoheal_grace(basis)
    check_gke_version(basis)
    check_deployer_reach(basis.spec)
    check_replica_capacity(basis)
    check_routing(basis.spec)
    check_canary_routing(basis.spec)
    check_traffic_replicas(basis.spec, basis.serving, {m.name: canary_replicas(m) for m in basis.spec.models})
    check_commitments(basis)
