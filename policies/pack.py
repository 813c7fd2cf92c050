"""CrossGuard adapters: each rule as a pulumi_policy policy over neutral views (no PolicyPack here: it blocks)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from policies.rules import RULES
from policies.rules.base import Rule
from policies.rules.view import UNKNOWN, ResourceView, decode_json_strings

PACK_NAME = "gpuinfra-guardrails"
_LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}


def plain(value: Any) -> Any:
    """A plain copy of CrossGuard's unknown-checking proxies; values unknown at preview become ``UNKNOWN``."""
    if isinstance(value, Mapping):
        out = {}
        for key in value:
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def _parent(resource: Any) -> tuple[str, str] | None:
    parent = getattr(resource, "parent", None)
    if parent is not None and hasattr(parent, "resource_type"):
        return parent.resource_type, parent.name
    urn = getattr(resource.opts, "parent", None) if resource.opts else None
    if not urn:
        return None
    parts = urn.split("::")
    return (parts[2].rsplit("$", 1)[-1], parts[3]) if len(parts) >= 4 else None


def view_of(resource: Any) -> ResourceView:
    """A view of a ``PolicyResource`` or ``ResourceValidationArgs`` (the same field names).

    ``retain_on_delete`` stays None: CrossGuard's ``PolicyResourceOptions`` does not carry it.
    """
    provider = decode_json_strings(plain(resource.provider.props)) if resource.provider is not None else {}
    return ResourceView(type=resource.resource_type, name=resource.name, props=plain(resource.props),
                        protect=bool(resource.opts.protect) if resource.opts else False, retain_on_delete=None,
                        provider=provider, parent=_parent(resource))


def _schema(rule: Rule) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties={k: dict(v) for k, v in rule.schema.items()}, required=list(rule.required) or None)


def _resource_policy(rule: Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        for finding in rule.run([view_of(args)], args.get_config()):
            report(finding.message)
    return ResourceValidationPolicy(name=rule.name, description=rule.description, validate=validate,
                                    enforcement_level=_LEVELS[rule.level], config_schema=_schema(rule))


def _stack_policy(rule: Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        views = [view_of(r) for r in args.resources]
        urns = {v.label: r.urn for v, r in zip(views, args.resources)}
        for finding in rule.run(views, args.get_config()):
            report(finding.message, urns.get(finding.resource))
    return StackValidationPolicy(name=rule.name, description=rule.description, validate=validate,
                                 enforcement_level=_LEVELS[rule.level], config_schema=_schema(rule))


def build_policies() -> list[Policy]:
    """One CrossGuard policy per rule, in the registry's order."""
    return [_stack_policy(r) if r.scope == "stack" else _resource_policy(r) for r in RULES]
