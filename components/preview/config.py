"""Pulumi project and stack configuration, encoded exactly as the Pulumi CLI hands it to a program."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Re-exported: the CLI-facing names callers import from here.
from components.preview.stack_yaml import (  # noqa: F401
    MAX_STACK_BYTES, PreviewConfigError, load_raw_config)


@dataclass(frozen=True)
class Project:
    """What the offline preview needs from ``Pulumi.yaml``."""

    name: str
    main_path: Path
    stack_config_dir: Path


def read_project(project_dir: str | Path) -> Project:
    """Read ``Pulumi.yaml`` the way the CLI resolves ``main`` and ``stackConfigDir``.

    Args:
        project_dir: Directory holding ``Pulumi.yaml``.

    Returns:
        The project name, the program's ``__main__.py`` and the stack config directory.

    Raises:
        PreviewConfigError: The file is missing, has no name, or ``main`` has no ``__main__.py``.
    """
    root = Path(project_dir).resolve()
    path = root / "Pulumi.yaml"
    if not path.is_file():
        raise PreviewConfigError(f"project file not found: {path}")
    doc = yaml.safe_load(path.read_text()) or {}
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise PreviewConfigError(f"{path}: 'name' must be a non-empty string")
    main = root / str(doc.get("main") or ".")
    main_path = main / "__main__.py" if main.is_dir() or str(doc.get("main", "")).endswith("/") else main
    if not main_path.is_file():
        raise PreviewConfigError(f"{path}: main program not found: {main_path}")
    stack_dir = root / str(doc.get("stackConfigDir") or ".")
    return Project(name=name, main_path=main_path, stack_config_dir=stack_dir)


def list_stacks(project: Project) -> list[str]:
    """List the stacks that have a ``Pulumi.<stack>.yaml`` in the stack config directory.

    Args:
        project: The project read by ``read_project``.

    Returns:
        Stack names, sorted.
    """
    files = project.stack_config_dir.glob("Pulumi.*.yaml")
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in files)


def stack_file(project: Project, stack: str) -> Path:
    """Locate a stack's configuration file.

    Args:
        project: The project read by ``read_project``.
        stack: Stack name, e.g. ``dev``.

    Returns:
        Path of ``<stackConfigDir>/Pulumi.<stack>.yaml``.

    Raises:
        PreviewConfigError: The file does not exist; the message names it and the available stacks.
    """
    path = project.stack_config_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        available = ", ".join(list_stacks(project)) or "none"
        raise PreviewConfigError(f"stack file not found: {path} (available stacks: {available})")
    return path


def encode_stack_config(project_name: str, raw_config: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Encode a stack's ``config:`` mapping into the flat string map a Pulumi program receives.

    Keys become ``namespace:key`` (a key without a namespace gets the project name). Strings pass as
    is, booleans become ``"true"``/``"false"``, numbers ``str()``, lists and maps JSON the way Go's
    ``json.Marshal`` writes them (compact, keys sorted, ``<>&`` escaped; see pulumi
    ``sdk/go/common/resource/config/value.go``). A ``{secure: ...}`` value becomes the placeholder
    ``mock-secret-<namespace>-<key>`` and its key is listed as secret; a ``secure`` nested in a
    structured value is replaced by the same kind of placeholder and makes the whole key secret.

    Args:
        project_name: The ``name`` from ``Pulumi.yaml``.
        raw_config: The stack file's ``config:`` mapping.

    Returns:
        ``(config, secret_keys)`` for ``pulumi.runtime.set_all_config``.
    """
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in raw_config.items():
        full_key = key if ":" in key else f"{project_name}:{key}"
        placeholder = secret_placeholder(full_key)
        if _is_secure(value):
            config[full_key] = _json_secret_placeholder(full_key, raw_config) or placeholder
            secret_keys.append(full_key)
        elif isinstance(value, (dict, list)):
            if _has_secure(value):
                secret_keys.append(full_key)
            try:
                config[full_key] = go_json(_replace_secure(value, placeholder))
            except ValueError as exc:
                raise PreviewConfigError(f"{full_key}: {exc}") from None
        else:
            config[full_key] = _scalar(value)
    return config, secret_keys


#: Secret keys whose value is a JSON document: ``router_api_keys`` is ``{"<client>": "<key>"}`` (README,
#: "Model router"). Their placeholder is that document with one placeholder key per listed client, so the
#: documented one-secret form plans offline exactly as it deploys.
JSON_SECRETS = {"gpuinfra:router_api_keys": ("gpuinfra:serving", "routing", "clients")}


def _json_secret_placeholder(full_key: str, raw_config: dict[str, Any]) -> str | None:
    where = JSON_SECRETS.get(full_key)
    if where is None:
        return None
    node: Any = raw_config.get(where[0])
    for part in where[1:]:
        node = node.get(part) if isinstance(node, dict) else None
    clients = [c for c in node if isinstance(c, str)] if isinstance(node, list) else []
    return go_json({c: f"{secret_placeholder(full_key)}-{c}" for c in clients})


def secret_placeholder(full_key: str) -> str:
    """Return the deterministic plaintext standing in for a ``secure:`` value.

    Args:
        full_key: ``namespace:key``.

    Returns:
        ``mock-secret-<namespace>-<key>`` with ``:`` replaced by ``-``.
    """
    return "mock-secret-" + full_key.replace(":", "-")


def read_stack_config(
    project_dir: str | Path,
    stack: str,
    *,
    raw_config: dict[str, Any] | None = None,
    config_file: str | Path | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Read and encode a stack's configuration.

    Args:
        project_dir: Directory holding ``Pulumi.yaml``.
        stack: Stack name.
        raw_config: Use this ``config:`` mapping instead of reading a file (tests).
        config_file: Read this stack file instead of ``<stackConfigDir>/Pulumi.<stack>.yaml``.

    Returns:
        ``(config, secret_keys)`` as ``encode_stack_config`` returns them.

    Raises:
        PreviewConfigError: A file is missing or malformed.
    """
    project = read_project(project_dir)
    if raw_config is None:
        path = Path(config_file) if config_file is not None else stack_file(project, stack)
        if not path.is_file():
            raise PreviewConfigError(f"stack file not found: {path}")
        raw_config = load_raw_config(path)
    return encode_stack_config(project.name, raw_config)


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("secure"), str)


def _has_secure(value: Any) -> bool:
    if _is_secure(value):
        return True
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return any(_has_secure(v) for v in children)


def _replace_secure(value: Any, placeholder: str) -> Any:
    if _is_secure(value):
        return placeholder
    if isinstance(value, dict):
        return {str(k): _replace_secure(v, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_secure(v, placeholder) for v in value]
    return value


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def go_json(value: Any) -> str:
    """Serialise like Go's ``json.Marshal`` of a decoded YAML value.

    Args:
        value: Lists, maps, strings, numbers, booleans, None.

    Returns:
        Compact JSON with sorted keys, integral floats without ``.0`` and ``<``, ``>``, ``&`` escaped.
    """
    # allow_nan=False: Go's json.Marshal refuses NaN and infinities ("json: unsupported value: +Inf"),
    # so the CLI never hands a program such a value; ``.inf`` in a stack file is an error there too.
    try:
        text = json.dumps(_go_numbers(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                          allow_nan=False)
    except ValueError:
        raise ValueError("a number is infinite or NaN (.inf/.nan): the Pulumi CLI cannot pass it (JSON has no such numbers)") from None
    except TypeError as exc:
        raise ValueError(f"holds a value JSON cannot carry ({exc})") from None
    # These characters can only occur inside JSON strings, so a global replace is exact.
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def _go_numbers(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {str(k): _go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_numbers(v) for v in value]
    return value
