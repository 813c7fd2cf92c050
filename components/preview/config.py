"""Pulumi project and stack configuration, encoded exactly as the Pulumi CLI hands it to a program."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class PreviewConfigError(Exception):
    """The project file or the stack file is missing or malformed."""


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


def load_raw_config(path: str | Path) -> dict[str, Any]:
    """Read the ``config:`` mapping of a stack file.

    Top-level scalars are kept as the literal text written in the file, as the CLI does (it unmarshals
    each value into a Go string first: ``enabled: yes`` reaches the program as ``"yes"``, ``1.50`` as
    ``"1.50"``). Structured values are parsed.

    Args:
        path: A ``Pulumi.<stack>.yaml`` file.

    Returns:
        Key to value; scalars as strings, lists and maps as Python data.

    Raises:
        PreviewConfigError: The file is not YAML or ``config`` is not a mapping.
    """
    path = Path(path)
    node = compose_stack_yaml(path)
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise PreviewConfigError(f"{path}: expected a mapping at the top level")
    for key_node, value_node in node.value:
        if key_node.value != "config":
            continue
        if isinstance(value_node, yaml.ScalarNode) and value_node.tag.endswith(":null"):
            return {}
        if not isinstance(value_node, yaml.MappingNode):
            raise PreviewConfigError(f"{path}: 'config' must be a mapping")
        return {k.value: _raw_value(v) for k, v in value_node.value}
    return {}


#: Largest stack file read (the committed ones are under 5 KB). Together with refusing aliases this bounds
#: the parse: a 1.3 KB file of nested aliases ("billion laughs") otherwise expands to gigabytes.
MAX_STACK_BYTES = 1024 * 1024
#: Deepest nesting of collections in a stack file (the schema needs 7 levels under ``config``).
MAX_YAML_DEPTH = 16


class _StackLoader(yaml.SafeLoader):
    """SafeLoader without aliases, with a depth limit, reading timestamps as strings.

    Timestamps stay strings as go-yaml v3 keeps them when decoding into ``interface{}`` (what the Pulumi CLI
    does; decode.go: "for backward compatibility ... a string and not a time.Time"), so dates reach the
    program as ``"2027-01-31"`` exactly as under the CLI.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 (PyYAML's signature)
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise PreviewConfigError(f"line {mark.line + 1}: YAML anchors and aliases are not accepted in stack files "
                                     "(write each value out)")
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise PreviewConfigError(f"line {event.start_mark.line + 1}: nested deeper than {MAX_YAML_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _duplicate_keys(node: yaml.Node) -> str | None:
    """The first mapping key written twice anywhere under ``node`` (go-yaml v3, the CLI's parser, refuses
    them: 'mapping key "x" already defined at line N'; PyYAML would silently keep the last)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        return (f"line {key.start_mark.line + 1}: mapping key {key.value!r} already defined at line "
                                f"{seen[key.value] + 1}")
                    seen[key.value] = key.start_mark.line
                stack.extend((key, value))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return None


def compose_stack_yaml(path: Path) -> yaml.Node | None:
    """Compose a stack file with bounded cost: size cap, no aliases, depth cap, no duplicate keys.

    Raises:
        PreviewConfigError: one line naming the file and the problem.
    """
    try:
        size = path.stat().st_size
        if size > MAX_STACK_BYTES:
            raise PreviewConfigError(f"{path}: {size} bytes; stack files are limited to {MAX_STACK_BYTES} bytes")
        loader = _StackLoader(path.read_text())
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except PreviewConfigError as exc:
        raise PreviewConfigError(f"{path}: {exc}" if not str(exc).startswith(str(path)) else str(exc)) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PreviewConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    duplicate = _duplicate_keys(node) if node is not None else None
    if duplicate:
        raise PreviewConfigError(f"{path}: {duplicate}")
    return node


def _raw_value(node: yaml.Node) -> Any:
    """Return a scalar's literal text (null as ""), or the constructed list/map."""
    if isinstance(node, yaml.ScalarNode):
        return "" if node.tag.endswith(":null") else node.value
    return _StackLoader("").construct_document(node)


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
