"""A mock resource monitor that records every registration with its options, secrets redacted."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.sync_await import _ensure_event_loop

from components.preview.values import REDACTED, clean

# Provider inputs that are credentials even when the program passes them as plain strings.
PROVIDER_SECRET_INPUTS = {
    "pulumi:providers:kubernetes": {"kubeconfig"},
    "pulumi:providers:aws": {"accessKey", "secretKey", "token"},
    "pulumi:providers:gcp": {"credentials", "accessToken"},
}
STACK_TYPE = "pulumi:pulumi:Stack"


def parse_urn(urn: str) -> dict[str, str]:
    """Split a URN into the resource's own type and name.

    Args:
        urn: ``urn:pulumi:<stack>::<project>::<parent$...$type>::<name>``.

    Returns:
        ``{"type": ..., "name": ...}``.
    """
    parts = urn.split("::", 3)
    return {"type": parts[2].rsplit("$", 1)[-1], "name": parts[3]}


@dataclass
class ResourceRecord:
    """One registered resource as the engine saw it: type, name, parent, inputs and options."""

    type: str
    name: str
    parent: dict[str, str] | None
    inputs: dict[str, Any]
    options: dict[str, Any]
    urn: str = ""
    custom: bool = True
    outputs: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON contract form ``{type, name, parent, inputs, options}``."""
        return {"type": self.type, "name": self.name, "parent": self.parent, "inputs": self.inputs, "options": self.options}


class RecordingMonitor(MockMonitor):
    """``MockMonitor`` that keeps a ``ResourceRecord`` per RegisterResource request."""

    def __init__(self, mocks: Any) -> None:
        """Wrap the given mocks.

        Args:
            mocks: A ``pulumi.runtime.Mocks`` answering registrations and invokes.
        """
        super().__init__(mocks)
        self.records: list[ResourceRecord] = []
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        """Register via the base monitor, then record the request."""
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        _ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object)
        secret_keys = PROVIDER_SECRET_INPUTS.get(request.type, set())
        record = ResourceRecord(
            type=request.type,
            name=request.name,
            parent=parse_urn(request.parent) if request.parent else None,
            inputs=_redacted(inputs, secret_keys),
            options=_options(request),
            urn=response.urn,
            custom=bool(request.custom),
            outputs=_redacted(self.resources[response.urn].state, secret_keys),
        )
        with self._lock:
            self.records.append(record)
        return response


def _redacted(values: dict[str, Any], secret_keys: set[str]) -> dict[str, Any]:
    """``clean`` values, with the named keys redacted whatever their form."""
    return clean({k: REDACTED if k in secret_keys else v for k, v in values.items()})


def _ref_name(ref: str) -> str:
    """Name of the provider a ``<urn>::<id>`` reference points at."""
    return parse_urn(ref.rsplit("::", 1)[0])["name"]


def _options(request: Any) -> dict[str, Any]:
    """Resource options that differ from the defaults, camelCase like the request fields."""
    opts: dict[str, Any] = {}
    if request.HasField("protect") and request.protect:
        opts["protect"] = True
    if request.HasField("retainOnDelete") and request.retainOnDelete:
        opts["retainOnDelete"] = True
    if request.ignoreChanges:
        opts["ignoreChanges"] = list(request.ignoreChanges)
    if request.provider:
        opts["provider"] = _ref_name(request.provider)
    if request.providers:
        opts["providers"] = {pkg: _ref_name(ref) for pkg, ref in sorted(request.providers.items())}
    # dependencies = explicit depends_on + property dependencies; the difference is depends_on
    # (an explicit dependency that is also a property dependency is not distinguishable here).
    implicit = {urn for deps in request.propertyDependencies.values() for urn in deps.urns}
    explicit = sorted(set(request.dependencies) - implicit)
    if explicit:
        opts["dependsOn"] = [parse_urn(u) for u in explicit]
    if request.deleteBeforeReplaceDefined:
        opts["deleteBeforeReplace"] = bool(request.deleteBeforeReplace)
    if request.HasField("customTimeouts"):
        timeouts = {k: getattr(request.customTimeouts, k) for k in ("create", "update", "delete")}
        opts["customTimeouts"] = {k: v for k, v in timeouts.items() if v}
    aliases = [_alias(a) for a in request.aliases] + list(request.aliasURNs)
    if aliases:
        opts["aliases"] = aliases
    for name in ("replaceOnChanges", "additionalSecretOutputs"):
        if getattr(request, name):
            opts[name] = list(getattr(request, name))
    if request.importId:
        opts["import"] = request.importId
    if request.deletedWith:
        opts["deletedWith"] = parse_urn(request.deletedWith)
    return opts


def _alias(alias: Any) -> Any:
    """An alias as its URN, or its spec fields that are set."""
    if alias.HasField("urn"):
        return alias.urn
    spec = alias.spec
    out = {k: getattr(spec, k) for k in ("name", "type", "stack", "project") if getattr(spec, k)}
    if spec.HasField("parentUrn") and spec.parentUrn:  # the SDK sends "" for "same parent as the resource"
        out["parent"] = parse_urn(spec.parentUrn)
    elif spec.HasField("noParent") and spec.noParent:
        out["noParent"] = True
    return out
