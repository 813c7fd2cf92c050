"""Configuration errors: one line naming the key path, the bad value and what is allowed."""
from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

NAMESPACE = "gpuinfra"


class ConfigError(Exception):
    """An invalid stack configuration; ``str()`` is the single line shown to the user."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


def key_path(loc: Sequence[Any]) -> str:
    """``("aws", "gpu_pools", 0, "instance_types", 1)`` -> ``gpuinfra:aws.gpu_pools[0].instance_types[1]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return f"{NAMESPACE}:{out}"


def close_matches(word: str, options: Sequence[str], n: int = 3) -> list[str]:
    """Options that look like ``word`` (for 'did you mean' hints)."""
    return difflib.get_close_matches(word, list(options), n=n, cutoff=0.6)


def unknown_key_message(key: str, allowed: Sequence[str]) -> str:
    """The message for a key the schema does not have."""
    hint = close_matches(key, allowed)
    did = f"did you mean {hint[0]!r}? " if hint else ""
    return f"unknown key ({did}allowed: {', '.join(sorted(allowed))})"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``Foo | None`` or ``list[Foo]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, tuple, frozenset, set):
        for arg in args:
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def model_at(root: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The spec class that owns the last element of ``loc`` (ints are list positions)."""
    model: type[BaseModel] | None = root
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        model = _model_in(field.annotation)
    return model


def _clean_loc(loc: Sequence[Any]) -> list[Any]:
    """Drop the union-member tags pydantic inserts into ``loc`` (e.g. ``'literal[1,2,4,8]'``)."""
    return [part for part in loc if isinstance(part, int) or "[" not in str(part)]


def from_validation_error(root: type[BaseModel], exc: ValidationError) -> ConfigError:
    """The first pydantic error as a ``ConfigError`` with a key path and a readable message."""
    errors = exc.errors(include_url=False)
    # A misspelled key also makes the intended key "missing": name the misspelling, it is the cause.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = _clean_loc(err["loc"])
    kind, msg, value = err["type"], err["msg"], err.get("input")
    if kind == "extra_forbidden":
        owner = model_at(root, loc)
        allowed = list(owner.model_fields) if owner else []
        return ConfigError(key_path(loc), unknown_key_message(str(loc[-1]), allowed))
    if kind == "missing":
        return ConfigError(key_path(loc), "required key is missing")
    if kind == "value_error":
        return ConfigError(key_path(loc), msg.removeprefix("Value error, "))
    shown = value if isinstance(value, (str, int, float, bool)) or value is None else type(value).__name__
    return ConfigError(key_path(loc), f"{shown!r} is invalid: {msg}")
