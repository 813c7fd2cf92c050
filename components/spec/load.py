"""Parse the CLI-encoded stack configuration (``gpuinfra:*`` keys) into a validated ``StackSpec``."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from components.spec.errors import NAMESPACE, ConfigError, from_validation_error, unknown_key_message
from components.spec.input_checks import check_input
from components.spec.stack import SECRET_KEYS, StackSpec

#: Provider keys the spec takes defaults from: (config key, section, field).
PROVIDER_DEFAULTS = (("aws:region", "aws", "region"), ("gcp:project", "gcp", "project"), ("gcp:region", "gcp", "region"))


#: Top-level keys whose values are text: taken as the string the CLI passes, never parsed as JSON
#: (``owner: "[ml-platform]"`` is a string).
_TEXT_KEYS = frozenset({"environment", "owner", "cost_center"})
#: Largest structured value accepted (the committed stacks are under 5 KB; this bounds the parse).
MAX_VALUE_CHARS = 256 * 1024
#: Deepest nesting of a structured value (the schema is 6 levels deep).
MAX_DEPTH = 12


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (RFC 8259)")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice")
        out[key] = value
    return out


def _depth(value: Any, limit: int) -> bool:
    """True when ``value`` nests deeper than ``limit`` (iterative: no recursion limit to hit)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_json(key: str, text: str) -> Any:
    """Strict JSON (RFC 8259: no NaN/Infinity, no duplicate keys), bounded in size and depth.

    Raises:
        ConfigError: naming ``key``.
    """
    if len(text) > MAX_VALUE_CHARS:
        raise ConfigError(key, f"is {len(text)} characters long; at most {MAX_VALUE_CHARS} are accepted")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise ConfigError(key, f"nests deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(key, f"is not valid structured config ({exc.msg})") from None
    except ValueError as exc:
        raise ConfigError(key, f"is not valid structured config ({exc})") from None
    if _depth(value, MAX_DEPTH):
        raise ConfigError(key, f"nests deeper than {MAX_DEPTH} levels")
    return value


def _decode(key: str, raw: str) -> Any:
    """Decode the CLI's string encoding by the schema: text keys stay strings, structured keys are JSON."""
    field = key.partition(":")[2]
    if field in _TEXT_KEYS:
        return raw
    text = raw.strip()
    if text[:1] not in ("{", "["):
        raise ConfigError(key, f"{raw[:60]!r} is not a mapping or list (this key takes structured YAML)")
    return parse_json(key, text)


def _check_router_keys(config: Mapping[str, str]) -> None:
    """``gpuinfra:router_api_keys`` is one secret holding a JSON object {"<client>": "<key>"} (as documented).

    The value is read only to check its shape; it is never stored in the spec nor shown in a message.
    """
    full_key = f"{NAMESPACE}:router_api_keys"
    raw = config.get(full_key)
    if raw is None:
        return
    try:
        keys = json.loads(raw, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicates)
    except ValueError:
        keys = None
    if not isinstance(keys, dict) or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in keys.items()):
        raise ConfigError(full_key, 'must be one secret holding a JSON object {"<client>": "<key>"} of non-empty '
                          "string keys (value not shown)")


def router_key_clients(config: Mapping[str, str]) -> frozenset[str]:
    """Client ids that ``gpuinfra:router_api_keys`` holds a key for (empty when unset)."""
    raw = config.get(f"{NAMESPACE}:router_api_keys")
    if raw is None:
        return frozenset()
    return frozenset(json.loads(raw))


def _split(config: Mapping[str, str], secret_keys: Iterable[str]) -> tuple[dict[str, Any], frozenset[str]]:
    """Our keys (decoded, secrets removed) and the names of the secret keys that are set."""
    secrets = set(secret_keys)
    values: dict[str, Any] = {}
    present: set[str] = set()
    allowed = [*StackSpec.model_fields.keys() - {"secrets"}, *SECRET_KEYS]
    for full_key in sorted(config):
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        if key in SECRET_KEYS:
            if full_key not in secrets:
                raise ConfigError(
                    full_key,
                    f"must be a secret: run `pulumi config set --secret {full_key} <value>` "
                    "(plain-text values are refused)",
                )
            present.add(key)
            continue
        if key not in StackSpec.model_fields or key == "secrets":
            raise ConfigError(full_key, unknown_key_message(key, allowed))
        if full_key in secrets:
            raise ConfigError(
                full_key, f"holds a secret; secrets are accepted only in {', '.join(SECRET_KEYS)}"
            )
        values[key] = _decode(full_key, config[full_key])
    return values, frozenset(present)


def _provider_defaults(values: dict[str, Any], config: Mapping[str, str]) -> None:
    """Fill ``aws.region``, ``gcp.project``, ``gcp.region`` from the provider keys when unset."""
    for config_key, section, field in PROVIDER_DEFAULTS:
        body = values.get(section)
        if isinstance(body, dict) and not body.get(field) and config.get(config_key):
            body[field] = config[config_key]
    for config_key, section, field in PROVIDER_DEFAULTS:
        body = values.get(section)
        if isinstance(body, dict) and not body.get(field):
            raise ConfigError(f"{NAMESPACE}:{section}.{field}", f"is not set (set {config_key} or {NAMESPACE}:{section}.{field})")


def load_stack_spec(config: Mapping[str, str], secret_keys: Iterable[str] = ()) -> StackSpec:
    """Validate the stack configuration as the CLI passes it to the program.

    Args:
        config: every config key of the stack, ``namespace:key`` -> string value (structured values as JSON).
        secret_keys: the keys whose values are secrets.

    Returns:
        The frozen spec; secret values never enter it, only which secret keys are set.

    Raises:
        ConfigError: one line naming the key path, the bad value and what is allowed.
    """
    from components.spec.checks import check_stack  # the catalog loads lazily, after the schema passes

    values, present = _split(config, secret_keys)
    _provider_defaults(values, config)
    _check_router_keys(config)
    try:
        spec = StackSpec.model_validate({**values, "secrets": frozenset(present)})
    except ValidationError as exc:
        raise from_validation_error(StackSpec, exc) from None
    check_input(spec)
    _check_router_clients(spec, config)
    check_stack(spec)
    return spec


def _check_router_clients(spec: StackSpec, config: Mapping[str, str]) -> None:
    routing = spec.serving.routing
    if not (routing.enabled and routing.clients and "router_api_keys" in spec.secrets):
        return
    have = router_key_clients(config)
    missing = [c for c in routing.clients if c not in have]
    if missing:
        raise ConfigError(f"{NAMESPACE}:router_api_keys", f"has no key for client(s) {', '.join(missing)} "
                          "(listed in gpuinfra:serving.routing.clients)")
