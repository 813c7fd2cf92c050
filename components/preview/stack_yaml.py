"""Stack files read as the Pulumi CLI reads them: bounded YAML, no aliases or duplicate keys, literal scalars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class PreviewConfigError(Exception):
    """The project file or the stack file is missing or malformed."""


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
