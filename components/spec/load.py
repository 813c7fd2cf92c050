"""Parse the CLI-encoded stack configuration (``gpuinfra:*`` keys) into a validated ``StackSpec``."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from components.spec.errors import NAMESPACE, ConfigError, from_validation_error, unknown_key_message
from components.spec.stack import SECRET_KEYS, StackSpec

#: Provider keys the spec takes defaults from: (config key, section, field).
PROVIDER_DEFAULTS = (("aws:region", "aws", "region"), ("gcp:project", "gcp", "project"), ("gcp:region", "gcp", "region"))


def _decode(key: str, raw: str) -> Any:
    """Structured values arrive as JSON text (as the CLI passes them); scalars as strings."""
    text = raw.strip()
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(key, f"is not valid structured config ({exc.msg})") from None
    return raw


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
    try:
        spec = StackSpec.model_validate({**values, "secrets": present})
    except ValidationError as exc:
        raise from_validation_error(StackSpec, exc) from None
    check_stack(spec)
    return spec
