"""Engine-value hygiene: secret detection and redaction, integral floats back to ints."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

# The Pulumi wire format marks special objects with this key; a secret is {SIG_KEY: SECRET_SIG, "value": v}.
# Source: pulumi/runtime/rpc.py (_special_sig_key, _special_secret_sig), SDK 3.272.0.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
REDACTED = "[secret]"


def is_secret(value: Any) -> bool:
    """Tell whether a deserialised engine value is a wrapped secret.

    Args:
        value: Any value as the mock monitor deserialised it.

    Returns:
        True for ``{SIG_KEY: SECRET_SIG, "value": ...}``.
    """
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def unwrap_secret(value: Any) -> Any:
    """Return the plaintext inside a wrapped secret, or the value unchanged.

    Args:
        value: A possibly wrapped value.

    Returns:
        The inner value of a secret, else ``value``.
    """
    return value["value"] if is_secret(value) else value


def contains_secret(value: Any) -> bool:
    """Tell whether a value holds a wrapped secret anywhere inside it.

    Args:
        value: A deserialised engine value.

    Returns:
        True if any nested element is a wrapped secret.
    """
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_secret(v) for v in value)
    return False


def clean(value: Any) -> Any:
    """Make an engine value readable and safe to print.

    Secrets become ``"[secret]"``, integral floats become ints (the wire carries every number as a
    double), tuples become lists, resources become their ``type::name`` and other objects their ``str``.

    Args:
        value: A deserialised engine value.

    Returns:
        A JSON-serialisable copy with no secret plaintext.
    """
    if is_secret(value):
        return REDACTED
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dict):
        return {str(k): clean(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return _describe_object(value)


def _describe_object(value: Any) -> str:
    """Describe a non-plain value (resource reference, asset, archive) without touching the network."""
    name = getattr(value, "_name", None)
    typ = getattr(value, "_type", None) or getattr(value, "pulumi_type", None)
    if isinstance(name, str) and isinstance(typ, str):
        return f"{typ}::{name}"
    path = getattr(value, "path", None) or getattr(value, "uri", None)
    if isinstance(path, str) and os.path.isfile(path):
        # By name and content: the checkout directory differs between the CI's base and head plans.
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()[:16]
        return f"{type(value).__name__}({os.path.basename(path)}, sha256:{digest})"
    if isinstance(path, str):
        return f"{type(value).__name__}({path})"
    # In-memory assets and archives: describe by content, never by repr (its object address changes every run,
    # which made the CI plan diff report every Lambda's code as changed).
    text = getattr(value, "text", None)
    if isinstance(text, str):
        return f"{type(value).__name__}(sha256:{hashlib.sha256(text.encode()).hexdigest()[:16]})"
    assets = getattr(value, "assets", None)
    if isinstance(assets, dict):
        inner = ", ".join(f"{k}: {_describe_object(assets[k])}" for k in sorted(assets))
        return f"{type(value).__name__}({inner})"
    return str(value)


def decode_provider_input(value: Any) -> Any:
    """Decode an explicit provider input, which the SDK sends JSON-encoded when it is not a plain string.

    Args:
        value: The raw provider input.

    Returns:
        The decoded structure for JSON-looking strings, else the value unchanged.
    """
    value = unwrap_secret(value)
    if isinstance(value, str) and value[:1] in ('"', "{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
