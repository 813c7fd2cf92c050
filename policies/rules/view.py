"""The neutral resource view every rule reads, built from offline plan records (the pack adapts its own)."""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class _Unknown:
    """A value the engine does not know yet (preview): rules skip what they cannot see."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class ResourceView:
    """What a rule may read about one resource.

    Attributes:
        type: Pulumi type token, e.g. ``aws:eks/nodeGroup:NodeGroup``.
        name: Logical (Pulumi) name.
        props: Inputs, camelCase, plain Python values (``UNKNOWN`` where the engine does not know them).
        protect: The ``protect`` resource option.
        retain_on_delete: The ``retainOnDelete`` option; None where the caller cannot see it (CrossGuard).
        provider: Inputs of the resource's provider (region, default tags/labels), JSON strings decoded.
        parent: ``(type, name)`` of the parent resource, None at the stack root.
    """

    type: str
    name: str
    props: Mapping[str, Any]
    protect: bool = False
    retain_on_delete: bool | None = None
    provider: Mapping[str, Any] = field(default_factory=dict)
    parent: tuple[str, str] | None = None

    @property
    def label(self) -> str:
        """How messages name the resource: ``name (type)``."""
        return f"{self.name} ({self.type})"

    def get(self, *path: str | int, default: Any = None) -> Any:
        """Nested lookup through dicts and lists; ``default`` when a step is missing or unknown."""
        return dig(self.props, *path, default=default)


def dig(value: Any, *path: str | int, default: Any = None) -> Any:
    """Nested lookup through dicts and lists; ``default`` when a step is missing or unknown."""
    for step in path:
        if isinstance(value, Mapping) and isinstance(step, str):
            value = value.get(step, default)
        elif isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value):
            value = value[step]
        else:
            return default
        if value is UNKNOWN:
            return default
    return default if value is None else value


def decode_json_strings(values: Mapping[str, Any]) -> dict[str, Any]:
    """Provider inputs travel as JSON strings for structured values (``defaultTags``): decode them."""
    out = {}
    for key, value in values.items():
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except ValueError:
                pass
        out[key] = value
    return out


def user_data_text(value: Any) -> str:
    """Launch-template user data is base64; instance-template startup scripts are plain text."""
    if not isinstance(value, str):
        return ""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return value


def from_records(records: Iterable[Mapping[str, Any]]) -> list[ResourceView]:
    """Views of the offline plan's recorded resources ``{type, name, parent, inputs, options}``.

    Provider resources (``pulumi:providers:*``) stay in the list (rules skip them) and lend their
    decoded inputs to the resources that name them in ``options.provider``.
    """
    records = list(records)
    providers = {r["name"]: decode_json_strings(r.get("inputs") or {})
                 for r in records if r["type"].startswith("pulumi:providers:")}
    views = []
    for r in records:
        opts = r.get("options") or {}
        parent = r.get("parent")
        views.append(ResourceView(
            type=r["type"], name=r["name"], props=r.get("inputs") or {},
            protect=bool(opts.get("protect")), retain_on_delete=bool(opts.get("retainOnDelete")),
            provider=providers.get(opts.get("provider") or "", {}),
            parent=(parent["type"], parent["name"]) if parent else None,
        ))
    return views
