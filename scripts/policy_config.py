"""Write (or --check) policies/config.<stack>.json from stacks/Pulumi.<stack>.yaml: the pack's per-environment config.

Usage (from the repo root):
    python scripts/policy_config.py              # rewrite every stack's file
    python scripts/policy_config.py --check prod # exit 1 when a committed file is out of date
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.preview.config import list_stacks, read_project, read_stack_config  # noqa: E402
from components.spec import load_stack_spec  # noqa: E402
from policies.rules.settings import config_document  # noqa: E402


def expected(stack: str) -> str:
    """The config document the stack file implies."""
    config, secret_keys = read_stack_config(ROOT, stack)
    return config_document(load_stack_spec(config, secret_keys))


def config_path(stack: str) -> Path:
    """Where the stack's pack config is committed."""
    return ROOT / "policies" / f"config.{stack}.json"


def main(argv: list[str] | None = None) -> int:
    """Write or check the files; returns the exit status (1: --check found a stale file)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", help="stack names (default: every stacks/Pulumi.<stack>.yaml)")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = 0
    for stack in args.stacks or list_stacks(read_project(ROOT)):
        path, text = config_path(stack), expected(stack)
        if args.check:
            if not path.is_file() or path.read_text() != text:
                print(f"{path.relative_to(ROOT)} is out of date: run scripts/policy_config.py {stack}", file=sys.stderr)
                stale = 1
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    return stale


if __name__ == "__main__":
    sys.exit(main())
