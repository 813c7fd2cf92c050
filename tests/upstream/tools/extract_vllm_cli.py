"""Write components/catalog/data/vllm_cli/<version>.txt from vLLM's sources (read statically, never imported).

Usage: python tests/upstream/tools/extract_vllm_cli.py SRC VERSION > components/catalog/data/vllm_cli/VERSION.txt
where SRC holds the ``vllm/`` package of that release (e.g. unzipped from the PyPI wheel vllm==VERSION).

Flags: every option string of an ``add_argument`` call in vllm/engine/arg_utils.py and the server CLI module
(vllm/entrypoints/common/cli_args.py from 0.2x, vllm/entrypoints/openai/cli_args.py before), plus
``--<field>`` for each field of the frontend-args dataclasses (their ``add_cli_args`` loops over fields).
``--no-<flag>`` negations of boolean options are not listed. Choices: the ``Literal`` members of the value
types of the flags this project passes.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

CLI_MODULES = ("vllm/entrypoints/common/cli_args.py", "vllm/entrypoints/openai/cli_args.py")
FRONTEND_CLASSES = ("BaseFrontendArgs", "FrontendArgs")
#: flag -> (module, Literal alias) whose members are the allowed values.
CHOICES = {
    "--quantization": ("vllm/model_executor/layers/quantization/__init__.py", "QuantizationMethods"),
    "--kv-cache-dtype": ("vllm/config/cache.py", "CacheDType"),
    "--dtype": ("vllm/config/model.py", "ModelDType"),
    "--load-format": ("vllm/model_executor/model_loader/__init__.py", "LoadFormats"),
}


def _option_strings(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("--"):
                    found.add(arg.value)
    return found


def _frontend_fields(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name in FRONTEND_CLASSES:
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    found.add("--" + item.target.id.replace("_", "-"))
    return found


def _literal(path: Path, alias: str) -> list[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        target = node.target if isinstance(node, ast.AnnAssign) else (node.targets[0] if isinstance(node, ast.Assign) else None)
        if isinstance(target, ast.Name) and target.id == alias and isinstance(node.value, ast.Subscript):
            elts = node.value.slice.elts if isinstance(node.value.slice, ast.Tuple) else [node.value.slice]
            return sorted(e.value for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
    raise SystemExit(f"{alias} not found in {path}")


def main(src: str, version: str) -> None:
    root = Path(src)
    cli = next(root / m for m in CLI_MODULES if (root / m).exists())
    engine = ast.parse((root / "vllm/engine/arg_utils.py").read_text())
    frontend = ast.parse(cli.read_text())
    flags = _option_strings(engine) | _option_strings(frontend) | _frontend_fields(frontend)
    print(f"# vLLM {version} `vllm serve` options. Source: vllm-project/vllm {version} (Apache-2.0), files")
    print(f"# vllm/engine/arg_utils.py and {cli.relative_to(root)}, read from the PyPI wheel vllm=={version.lstrip('v')}")
    print("# by tests/upstream/tools/extract_vllm_cli.py. `--no-<flag>` negations are not listed.")
    print("# Lines `choices <flag>: a b c` list the values allowed for flags this project passes.")
    for flag in sorted(flags):
        print(flag)
    for flag, (module, alias) in CHOICES.items():
        print(f"choices {flag}: {' '.join(_literal(root / module, alias))}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
