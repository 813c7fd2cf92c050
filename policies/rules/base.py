"""Rule records, findings and per-rule settings: what the pack and the offline plan both run."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from policies.rules.view import ResourceView

Level = Literal["mandatory", "advisory"]
Scope = Literal["resource", "stack"]


@dataclass(frozen=True)
class Finding:
    """One violation of a rule: the resource label (``name (type)`` or a stack-wide subject) and why."""

    resource: str
    message: str


@dataclass(frozen=True)
class Rule:
    """A guardrail: a plain function plus how CrossGuard registers it.

    Attributes:
        name: Policy name (unique in the pack; the key of its section in ``config.<env>.json``).
        description: One line for ``pulumi preview`` output.
        level: Default enforcement level (a config section's ``enforcementLevel`` overrides it).
        scope: ``resource``: ``check(view, settings) -> Iterable[str]``;
            ``stack``: ``check(views, settings) -> Iterable[Finding]``.
        check: The rule body.
        schema: JSON-schema ``properties`` of the rule's settings, each with its ``default``.
        enabled_by: A setting that turns the rule on when truthy (e.g. ``require_spot``), or None.
        required: Settings the CLI must receive (the pack refuses to run without the environment's config).
    """

    name: str
    description: str
    level: Level
    scope: Scope
    check: Callable[..., Iterable[Any]]
    schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    enabled_by: str | None = None
    required: tuple[str, ...] = ()

    def settings(self, config: Mapping[str, Any] | None) -> dict[str, Any]:
        """The rule's settings: schema defaults overlaid with the config section (CrossGuard does not fill defaults)."""
        out = {key: prop.get("default") for key, prop in self.schema.items()}
        out.update({k: v for k, v in (config or {}).items() if k != "enforcementLevel"})
        return out

    def enabled(self, settings: Mapping[str, Any]) -> bool:
        """False when the rule's switch setting is off for this environment."""
        return self.enabled_by is None or bool(settings.get(self.enabled_by))

    def run(self, views: list[ResourceView], config: Mapping[str, Any] | None) -> list[Finding]:
        """Run the rule over every view (resource scope) or the whole stack (stack scope)."""
        settings = self.settings(config)
        if not self.enabled(settings):
            return []
        if self.scope == "stack":
            return list(self.check(views, settings))
        return [Finding(v.label, message) for v in views if not v.type.startswith("pulumi:")
                for message in self.check(v, settings)]


def level_of(rule: Rule, config: Mapping[str, Any] | None) -> Level:
    """The effective level: the config section's ``enforcementLevel`` when it says mandatory or advisory."""
    level = (config or {}).get("enforcementLevel")
    return level if level in ("mandatory", "advisory") else rule.level


def prop(kind: str, default: Any, description: str, **extra: Any) -> dict[str, Any]:
    """A JSON-schema property for a rule's settings."""
    types = [kind, "null"] if default is None else kind
    return {"type": types, "default": default, "description": description, **extra}


def usd(value: float) -> str:
    """Dollars as messages print them: $12,345."""
    return f"${value:,.0f}"
