"""Render the reference of every ``gpuinfra:`` stack setting from the spec schema (the README embeds it)."""
from __future__ import annotations

import sys
import types
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import BaseModel  # noqa: E402
from pydantic_core import PydanticUndefined  # noqa: E402

from components.spec import SECRET_KEYS, StackSpec  # noqa: E402
from components.spec.errors import _model_in  # noqa: E402

BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"


def _type_name(annotation: Any) -> str:
    """A reader's name for a field type: ``one of a, b``, ``int or null``, ``list of str``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if origin in (list, frozenset, set):
        return f"list of {_type_name(args[0])}"
    name = getattr(annotation, "__name__", str(annotation))
    return {"IPvAnyNetwork": "CIDR", "date": "date (YYYY-MM-DD)"}.get(name, name)


def _default(field) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default_factory() if field.default_factory else field.default
    if isinstance(value, BaseModel):
        return "(section)"
    return "" if value is None else f"`{value}`" if not isinstance(value, (list, frozenset)) or value else "`[]`"


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        if name == "secrets":
            continue
        key = f"{prefix}{name}"
        nested = _model_in(field.annotation)
        is_list = typing.get_origin(field.annotation) is list or any(
            typing.get_origin(a) is list for a in typing.get_args(field.annotation))
        doc = (field.description or "").replace("\n", " ").replace("|", "\\|")
        kind = "list of objects" if nested and is_list else "object" if nested else _type_name(field.annotation)
        rows.append(f"| `{key}` | {kind.replace('|', chr(92) + '|')} | {_default(field)} | {doc} |")
        if nested is not None:
            rows.extend(_rows(nested, f"{key}[].") if is_list else _rows(nested, f"{key}."))
    return rows


def render() -> str:
    """The settings table in markdown, between the README markers."""
    lines = [BEGIN, "| key (under `gpuinfra:`) | type | default | meaning |", "|---|---|---|---|"]
    lines += _rows(StackSpec, "")
    lines += [f"| `{k}` | secret | optional | set with `pulumi config set --secret gpuinfra:{k} ...` |" for k in SECRET_KEYS]
    return "\n".join(lines + [END])


def main() -> int:
    """Print the table, or with --write replace it in README.md."""
    table = render()
    if "--write" in sys.argv:
        readme = ROOT / "README.md"
        text = readme.read_text()
        start, stop = text.index(BEGIN), text.index(END) + len(END)
        readme.write_text(text[:start] + table + text[stop:])
    else:
        print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
