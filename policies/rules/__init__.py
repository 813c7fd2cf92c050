"""Guardrail rules evaluated in every plan (offline) and by the CrossGuard pack (``policies/__main__.py``)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.rules import buckets, capacity, cost, input_risks, model_fit, safety, tags
from policies.rules.base import Finding, Rule, level_of
from policies.rules.view import ResourceView, from_records

#: Every rule, in report order: cost, capacity, tags, safety, buckets, model fit, input risks.
RULES: list[Rule] = [*cost.RULES, *capacity.RULES, *tags.RULES, *safety.RULES, *buckets.RULES, *model_fit.RULES,
                    *input_risks.RULES]


def run_rules(views: list[ResourceView], config: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    """Run every rule over the views with its config section; violations as the plan JSON lists them.

    Args:
        views: Resources as neutral views.
        config: ``{policy name: section}`` (the content of ``config.<env>.json``).

    Returns:
        ``[{policy, level, resource, message}]``.
    """
    out = []
    for rule in RULES:
        section = config.get(rule.name)
        for f in rule.run(views, section):
            out.append({"policy": rule.name, "level": level_of(rule, section), "resource": f.resource, "message": f.message})
    return out


def _sizing_violations(report: Mapping[str, Any]) -> list[dict[str, str]]:
    """Offline only: the spec's sizing rows (a model that does not fit gets no engine args to inspect)."""
    return [{"policy": "model-fit", "level": "mandatory", "resource": f"{row['model']} on {row['pool']} ({row['instance_type']})",
             "message": f"sizing: {row['reason']}"} for row in report.get("sizing") or [] if not row.get("fits", True)]


def evaluate(spec: Any, resources: list[dict], report: Mapping[str, Any]) -> list[dict[str, str]]:
    """The plan's ``violations``: the pack's rules over the recorded resources, configured from the spec.

    The configuration is ``pack_config(spec)``, the same document ``scripts/policy_config.py`` writes to
    ``policies/config.<env>.json`` (a test keeps the committed files equal to it), so a variant stack
    (a lowered budget) is judged by its own numbers.

    Args:
        spec: The stack's ``StackSpec``.
        resources: Recorded resources ``[{type, name, parent, inputs, options}]``.
        report: The plan's report sections (``sizing`` rows are checked too).

    Returns:
        ``[{policy, level: mandatory|advisory, resource, message}]``.
    """
    from policies.rules.settings import pack_config  # noqa: PLC0415

    config = pack_config(spec)
    planned = {row["model"]: row["usd_per_mtok"] for row in (report.get("cost") or {}).get("usd_per_mtok") or []}
    if planned and "usd-per-mtok" in config:
        config["usd-per-mtok"] = {**config["usd-per-mtok"], "planned_usd_per_mtok": planned}
    expected = ((report.get("cost") or {}).get("monthly") or {}).get("expected")
    if planned and expected is not None and "budget-expected" in config:
        # With traffic the plan's expected cost follows the profile; the resources alone show only maximum scale.
        config["budget-expected"] = {**config["budget-expected"], "planned_expected_monthly": expected}
    violations = run_rules(from_records(resources), config) + _sizing_violations(report)
    return violations


__all__ = ["RULES", "Finding", "ResourceView", "Rule", "evaluate", "from_records", "run_rules"]
