"""Model fit and cost per million tokens read from what runs vLLM: Deployments' args or VM boot scripts."""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from components.catalog import ModelArch, load_catalog
from components.plan.fit import FitResult, fit
from components.plan.scheduling import LABEL_POOL
from policies.rules.base import Finding, Rule, prop
from policies.rules.fleet import Capacity, cloud_of, gpu_capacity
from policies.rules.safety import containers, vllm_repo, boot_script
from policies.rules.view import ResourceView, dig
from components.catalog.vocab import Cloud

_TORCH_TO_DTYPE = {"bfloat16": "bf16", "float16": "fp16", "half": "fp16"}
_FLAG = re.compile(r"(--[a-z0-9-]+)[ =]([^\s)\"']+)")


@dataclass(frozen=True)
class Engine:
    """One vLLM engine as deployed: where it is declared, its model, TP and context, the pools it may run on."""

    view: ResourceView
    cloud: Cloud | None
    served: str
    flags: dict[str, str]
    pools: tuple[str, ...]


def parse_flags(tokens: list[str] | str) -> dict[str, str]:
    """``--flag value`` / ``--flag=value`` pairs from an argument list or a script's text."""
    text = tokens if isinstance(tokens, str) else " ".join(str(t) for t in tokens)
    return {flag: value for flag, value in _FLAG.findall(text)}


def _selected_pools(view: ResourceView) -> tuple[str, ...]:
    """Pools a pod spec pins through its node selector or required node affinity on the pool label."""
    spec = view.get("spec", "template", "spec", default={})
    if pool := dig(spec, "nodeSelector", LABEL_POOL):
        return (str(pool),)
    terms = dig(spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms", default=[])
    return tuple(str(v) for t in terms for e in t.get("matchExpressions") or [] if e.get("key") == LABEL_POOL
                 for v in e.get("values") or [])


def engines(views: list[ResourceView], s: Mapping[str, Any]) -> list[Engine]:
    """Every vLLM engine: containers running the pinned vLLM image, and VM boot scripts starting it."""
    repo, out = vllm_repo(), []
    models = s.get("models") or {}
    for v in views:
        for c in containers(v):
            if str(c.get("image", "")).split("@")[0].rsplit(":", 1)[0] == repo:
                flags = parse_flags(list(c.get("command") or []) + list(c.get("args") or []))
                served = flags.get("--served-model-name") or flags.get("--model", "")
                pools = _selected_pools(v) or tuple(dig(models, served, "pools", default=[]))
                out.append(Engine(v, None, served, flags, pools))
        script = boot_script(v)
        if repo in script and "--max-model-len" in script:
            flags = parse_flags(script)
            served = flags.get("--served-model-name") or flags.get("--model", "")
            out.append(Engine(v, cloud_of(v), served, flags, tuple(dig(models, served, "pools", default=[]))))
    return out


def _arch(model: Mapping[str, Any], hf_repo: str) -> ModelArch | None:
    if arch := model.get("architecture"):
        return ModelArch(hf_repo=hf_repo, **arch)
    return load_catalog().model(hf_repo)


def fits(engine: Engine, caps: list[Capacity], s: Mapping[str, Any]) -> Iterator[tuple[Capacity | None, FitResult | None, str]]:
    """(capacity, fit, problem) for every GPU type the engine may land on; problem "" when it can be checked."""
    model = dig(s, "models", engine.served, default={})
    hf_repo = model.get("hf_repo") or engine.flags.get("--model", "")
    arch = _arch(model, hf_repo)
    if arch is None:
        yield None, None, f"model {engine.served!r} ({hf_repo}) is unknown to the catalog and the config: fit unchecked"
        return
    f = engine.flags
    dtype = "fp8" if f.get("--quantization") == "fp8" else _TORCH_TO_DTYPE.get(f.get("--dtype", ""), model.get("dtype", "bf16"))
    kv = "fp8" if f.get("--kv-cache-dtype", "").startswith("fp8") else "auto"
    targets = [c for c in caps if c.pool in engine.pools and (engine.cloud is None or c.cloud == engine.cloud)]
    if not targets:
        yield None, None, f"no GPU node pool found for {engine.served} (pools {list(engine.pools)})"
        return
    catalog, seen = load_catalog(), set()
    for c in targets:
        for t in c.instance_types:
            if (c.cloud, t) in seen:
                continue
            seen.add((c.cloud, t))
            result = fit(arch, catalog.instance(c.cloud, t), int(f.get("--tensor-parallel-size", 1)), dtype=dtype,
                         kv_cache_dtype=kv, max_model_len=int(f.get("--max-model-len", arch.max_context)),
                         concurrency=int(model.get("min_concurrency") or s["default_min_concurrency"]),
                         gpu_memory_utilization=float(f.get("--gpu-memory-utilization", 0.9)))
            yield c, result, ""


def check_fit(views: list[ResourceView], s: Mapping[str, Any]) -> Iterator[Finding]:
    """KV capacity of every deployed engine holds max_model_len x min concurrency on every GPU type it may use."""
    caps = gpu_capacity(views, s)
    for engine in engines(views, s):
        for cap, result, problem in fits(engine, caps, s):
            if problem:
                yield Finding(engine.view.label, problem)
            elif not result.fits:
                need = result.max_model_len * result.concurrency
                yield Finding(engine.view.label,
                              f"{engine.served} on {result.instance_type} (TP {result.tp}): {result.reason}; KV capacity "
                              f"{result.kv_tokens} tokens vs max_model_len {result.max_model_len} x min concurrency "
                              f"{result.concurrency} = {need}")


def check_usd_per_mtok(views: list[ResourceView], s: Mapping[str, Any]) -> Iterator[Finding]:
    """Each model's $/Mtok at its planned traffic (the plan's ``cost.usd_per_mtok``) stays under the ceiling.

    The figure is the plan's (expected GPU cost / tokens at the traffic, components/plan/unit_cost.py); the rule
    restates no price or formula. Without planned figures (a model without ``traffic``, or a CrossGuard run with
    no plan) there is nothing to judge.
    """
    ceiling = float(s["max_usd_per_mtok"])
    for model, cost in sorted((s.get("planned_usd_per_mtok") or {}).items()):
        if float(cost) > ceiling:
            yield Finding("stack", f"{model}: ${float(cost):.3f}/Mtok (input + output) at its planned traffic vs "
                                   f"ceiling ${ceiling:.2f}")


_COMMON = {"models": prop("object", {}, "Served model name -> {hf_repo, min_concurrency, dtype, pools[, architecture]}"),
           "default_min_concurrency": prop("integer", 1, "Concurrency assumed for models absent from 'models'"),
           "aws_region": prop("string", None, "Default AWS region"), "gcp_region": prop("string", None, "Default GCP region")}

RULES = [
    Rule("model-fit", "vLLM's KV cache holds max_model_len x min concurrency on every GPU type it may use.",
         "mandatory", "stack", check_fit, _COMMON),
    Rule("usd-per-mtok", "Cost per million tokens at the planned traffic stays under the ceiling.",
         "advisory", "stack", check_usd_per_mtok,
         {"max_usd_per_mtok": prop("number", None, "Ceiling, USD per million tokens (input + output)"),
          "planned_usd_per_mtok": prop("object", {}, "Model -> the plan's $/Mtok at its traffic (offline plan)")},
         enabled_by="max_usd_per_mtok"),
]
