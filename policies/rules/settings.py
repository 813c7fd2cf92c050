"""Per-environment pack configuration (``config.<env>.json``) derived from the stack spec: one source of truth."""
from __future__ import annotations

from typing import Any

from components.spec import StackSpec
from components.plan.sizing import model_arch
from policies.rules.input_risks import risky_settings


def _models(spec: StackSpec) -> dict[str, dict[str, Any]]:
    """What model-fit needs per served model name (the pack cannot read the spec)."""
    out = {}
    for m in spec.models:
        row: dict[str, Any] = {"hf_repo": m.hf_repo, "min_concurrency": m.min_concurrency, "dtype": m.dtype,
                               "pools": list(m.pools)}
        if m.architecture is not None:
            a = model_arch(m)
            row["architecture"] = {"params": a.params, "layers": a.layers, "attention_heads": a.attention_heads,
                                   "kv_heads": a.kv_heads, "head_dim": a.head_dim, "max_context": a.max_context}
        out[m.name] = row
    return out


def stack_facts(spec: StackSpec) -> dict[str, Any]:
    """Every setting any rule reads, from the spec (None: leave the rule's default)."""
    non_prod = spec.environment != "prod"
    return {
        "environment": spec.environment,
        "aws_region": spec.aws.region if spec.aws else None,
        "gcp_region": spec.gcp.region if spec.gcp else None,
        "budget_usd": spec.budget.monthly_usd,
        "expected_ratio": spec.budget.expected_ratio,
        "spot_availability": spec.budget.spot_availability,
        "baseline_plan": spec.policy.baseline_plan,
        "catalog_max_age_days": spec.policy.catalog_max_age_days,
        "allowed_gpus": list(spec.policy.allowed_gpus),
        "require_spot": non_prod,
        "require_end_date": non_prod,
        "require_idle_shutdown": non_prod,
        "require_protect": not non_prod,
        "allow_capacity_block_purchase": bool(spec.aws and spec.aws.allow_capacity_block_purchase),
        "models": _models(spec),
        "max_usd_per_mtok": spec.policy.max_usd_per_mtok,
        "risky_settings": risky_settings(spec),
    }


#: Per-environment enforcement overrides. Staging mirrors prod's shape: the GKE issue asks staging for an
#: on-demand floor like prod's, so an always-on staging floor is reported (advisory), not blocked; dev blocks.
LEVEL_OVERRIDES: dict[str, dict[str, str]] = {"staging": {"idle-shutdown": "advisory"}}


def pack_config(spec: StackSpec) -> dict[str, dict[str, Any]]:
    """The ``--policy-pack-config`` document: one section per policy holding only the keys its schema declares."""
    from policies.rules import RULES  # noqa: PLC0415 (the registry imports this module's siblings)

    facts = stack_facts(spec)
    levels = LEVEL_OVERRIDES.get(spec.environment, {})
    out = {}
    for rule in RULES:
        section: dict[str, Any] = {k: facts[k] for k in rule.schema if facts.get(k) is not None}
        if rule.name in levels:
            section["enforcementLevel"] = levels[rule.name]
        out[rule.name] = section
    return out


def config_document(spec: StackSpec) -> str:
    """``pack_config`` as the committed JSON text (sorted keys, two-space indent, trailing newline)."""
    import json  # noqa: PLC0415

    return json.dumps(pack_config(spec), indent=2, sort_keys=True) + "\n"
