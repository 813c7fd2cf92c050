"""Command line of the offline preview: exit 0 (ok) / 1 (mandatory violation) / 2 (bad input) / 3 (internal error)."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import sys
import traceback
import warnings
from pathlib import Path

from components.preview.config import PreviewConfigError
from components.preview.manifests import render_k8s
from components.preview.plan import Plan, exit_status, plan, plan_document
from components.preview.render import render_text
from components.preview.run import ProgramError, ProgramExit
from components.preview.sections import SectionsBuilder, build_sections

EXIT_OK, EXIT_VIOLATION, EXIT_ERROR, EXIT_INTERNAL = 0, 1, 2, 3


def parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``scripts/plan.py``."""
    p = argparse.ArgumentParser(prog="plan.py", description="Offline preview: run the stack program under Pulumi mocks.")
    p.add_argument("stack", nargs="?", default="dev", help="stack name (stacks/Pulumi.<stack>.yaml), default dev")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.add_argument("--render-k8s", metavar="DIR", help="write each Kubernetes object as YAML under DIR/<provider>/")
    p.add_argument("--debug", action="store_true", help="print tracebacks and engine log messages")
    p.add_argument("--config-file", metavar="PATH", help="plan this stack YAML file under the given stack name")
    p.add_argument("--project-dir", metavar="DIR", help=argparse.SUPPRESS)
    p.add_argument("--sections", metavar="MODULE:FUNCTION", help=argparse.SUPPRESS)
    p.add_argument("--dump-modules", metavar="FILE", help=argparse.SUPPRESS)
    return p


def load_builder(spec: str) -> SectionsBuilder:
    """Import a sections builder given as ``package.module:function``.

    Args:
        spec: Dotted module path and attribute, separated by a colon.

    Returns:
        The callable.
    """
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def main(argv: list[str] | None = None, *, project_dir: str | Path, sections: SectionsBuilder | None = None) -> int:
    """Plan a stack and print it; return the exit status.

    Args:
        argv: Command-line arguments (default ``sys.argv[1:]``).
        project_dir: Directory holding ``Pulumi.yaml`` (``--project-dir`` overrides it).
        sections: Sections builder (``--sections`` overrides it; default ``build_sections``).

    Returns:
        0 ok, 1 a mandatory policy violation, 2 invalid configuration, 3 an internal error (a bug).
    """
    args = parser().parse_args(argv)
    builder = load_builder(args.sections) if args.sections else sections or build_sections
    if not args.debug:
        # After a program error Pulumi leaves coroutines nobody awaits; the warning at exit is noise.
        warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
    try:
        # The program's own prints go to stderr so that --json stays one document on stdout.
        with contextlib.redirect_stdout(sys.stderr):
            result = plan(
                args.project_dir or project_dir,
                args.stack,
                config_file=args.config_file,
                sections=builder,
                logger=_engine_logger() if args.debug else None,
            )
    except ProgramExit as exc:
        if exc.message:
            print(f"error: {exc.message}", file=sys.stderr)
        return exc.code if exc.code == EXIT_INTERNAL else EXIT_ERROR
    except PreviewConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except ProgramError as exc:
        return _report(exc.original, args.debug)
    except Exception as exc:  # noqa: BLE001 sections or runtime failure: one line, traceback on --debug
        return _report(exc, args.debug)
    try:
        return _emit(result, args)
    except ValueError as exc:  # e.g. a non-finite figure refused by strict JSON: a bug, not bad input
        return _report(exc, args.debug)


def _engine_logger() -> logging.Logger:
    """Engine log messages (``pulumi.log``, resource warnings) on stderr, for --debug."""
    logger = logging.getLogger("gpuinfra.preview.debug")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("engine %(levelname)s: %(message)s"))
        logger.addHandler(handler)
    return logger


def _report(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exception(exc)
    print(f"internal error: {type(exc).__name__}: {exc}".splitlines()[0] + " (a gpuinfra bug: please report it; "
          "--debug shows the traceback)", file=sys.stderr)
    return EXIT_INTERNAL


def _emit(result: Plan, args: argparse.Namespace) -> int:
    if args.render_k8s:
        written = render_k8s(result.run, args.render_k8s)
        print(f"wrote {len(written)} Kubernetes objects under {args.render_k8s}", file=sys.stderr)
    if args.json:
        # allow_nan=False: RFC 8259 has no NaN/Infinity; a non-finite figure is a bug, reported as one (exit 3).
        sys.stdout.write(json.dumps(plan_document(result), indent=2, default=str, allow_nan=False) + "\n")
    else:
        sys.stdout.write(render_text(result))
    if args.dump_modules:
        names = sorted(m for m in sys.modules if m == "pulumi" or m.startswith(("pulumi.", "pulumi_")))
        Path(args.dump_modules).write_text("\n".join(names) + "\n")
    return exit_status(result)
