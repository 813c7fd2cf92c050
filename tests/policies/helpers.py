"""Hand-built resources for the policy tests, in both forms: offline plan records and CrossGuard arguments."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

from policies.pack import build_policies
from policies.rules import RULES
from policies.rules.base import Rule
from policies.rules.view import from_records

STACK, PROJECT = "test", "gpuinfra"
AWS_PROVIDER = {"region": "us-east-1", "defaultTags": json.dumps({"tags": {"Environment": "dev", "CostCenter": "cc",
                                                                          "Owner": "team"}})}


@dataclass
class Res:
    """One resource as a test declares it."""

    type: str
    name: str
    props: dict[str, Any]
    parent: tuple[str, str] | None = None
    protect: bool = False
    retain: bool = False
    provider: dict[str, Any] | None = field(default_factory=lambda: dict(AWS_PROVIDER))

    def urn(self) -> str:
        return urn(self.type, self.name)


def urn(typ: str, name: str) -> str:
    """A stack-root URN."""
    return f"urn:pulumi:{STACK}::{PROJECT}::{typ}::{name}"


def rule(name: str) -> Rule:
    """The registry's rule by name."""
    return next(r for r in RULES if r.name == name)


def policy(name: str):
    """The CrossGuard policy built for a rule (never through policies/__main__.py: PolicyPack blocks)."""
    return next(p for p in build_policies() if p.name == name)


def records(resources: list[Res]) -> list[dict[str, Any]]:
    """The offline plan's record form, with one provider record per distinct provider."""
    out, providers = [], {}
    for r in resources:
        opts: dict[str, Any] = {"protect": True} if r.protect else {}
        if r.retain:
            opts["retainOnDelete"] = True
        if r.provider is not None:
            key = json.dumps(r.provider, sort_keys=True)
            providers.setdefault(key, f"provider-{len(providers)}")
            opts["provider"] = providers[key]
        parent = {"type": r.parent[0], "name": r.parent[1]} if r.parent else None
        out.append({"type": r.type, "name": r.name, "parent": parent, "inputs": r.props, "options": opts})
    for key, name in providers.items():
        out.append({"type": "pulumi:providers:aws", "name": name, "parent": None, "inputs": json.loads(key), "options": {}})
    return out


def run_offline(name: str, resources: list[Res], config: dict[str, Any]) -> list[str]:
    """Messages of one rule over the resources in their offline record form."""
    return [f.message for f in rule(name).run(from_records(records(resources)), config)]


def _opts(r: Res) -> PolicyResourceOptions:
    parent = urn(*r.parent) if r.parent else None
    return PolicyResourceOptions(r.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def _provider(r: Res) -> PolicyProviderResource | None:
    if r.provider is None:
        return None
    return PolicyProviderResource("pulumi:providers:aws", r.provider, urn("pulumi:providers:aws", "default"), "default")


def policy_resource(r: Res) -> PolicyResource:
    """The CrossGuard stack-validation form."""
    return PolicyResource(r.type, r.props, r.urn(), r.name, _opts(r), _provider(r), None, [], {})


def run_pack(name: str, resources: list[Res], config: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(message, urn) pairs a CrossGuard policy reports through ``validate()`` with a collecting callback."""
    pol, reported = policy(name), []

    def report(message: str, urn_: str | None = None) -> None:
        reported.append((message, urn_))

    if rule(name).scope == "stack":
        pol.validate(StackValidationArgs([policy_resource(r) for r in resources], config), report)
    else:
        for r in resources:
            args = ResourceValidationArgs(r.type, r.props, r.urn(), r.name, _opts(r), _provider(r), config)
            before = len(reported)
            pol.validate(args, report)
            reported[before:] = [(m, r.urn()) for m, _ in reported[before:]]
    return reported
