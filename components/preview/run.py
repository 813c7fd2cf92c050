"""Run a Pulumi program under the mock runtime with CLI-identical config and collect what it registered."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import os
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import massage, run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.preview.config import Project, read_project, read_stack_config
from components.preview.mocks import GpuinfraMocks
from components.preview.recorder import RecordingMonitor, ResourceRecord
from components.preview.values import REDACTED, clean


class ProgramExit(Exception):
    """The program exited on purpose (``sys.exit``); it has already reported why on stderr.

    ``resources`` holds what was registered before the exit (empty when the program validates first).
    """

    def __init__(self, code: int, message: str | None = None) -> None:
        """Keep the exit code and, for ``sys.exit("text")``, the text to print."""
        super().__init__(message or f"program exited with status {code}")
        self.code = code
        self.message = message
        self.resources: list[ResourceRecord] = []


class ProgramError(Exception):
    """The program raised; ``original`` is the program's own exception, unwrapped from Pulumi's."""

    def __init__(self, original: BaseException) -> None:
        """Wrap the program's exception."""
        super().__init__(f"{type(original).__name__}: {original}")
        self.original = original
        self.resources: list[ResourceRecord] = []


@dataclass
class PlanRun:
    """Everything one offline run produced."""

    project: str
    stack: str
    config: dict[str, str]
    secret_keys: list[str]
    resources: list[ResourceRecord] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    invokes: list[str] = field(default_factory=list)


def run_program(
    project_dir: str | Path,
    stack: str,
    *,
    raw_config: dict[str, Any] | None = None,
    config_file: str | Path | None = None,
    logger: logging.Logger | None = None,
) -> PlanRun:
    """Run the project's program offline, as ``pulumi preview`` would run it, and record it.

    Each call runs in a copy of the caller's context with fresh settings, root stack, config, mocks,
    monitor and event loop, so runs in one process share no Pulumi state and leave the caller's alone.
    Modules the program imports stay cached in ``sys.modules`` (under the CLI each run is a new
    process): keep component modules free of mutable module-level state.

    Args:
        project_dir: Directory holding ``Pulumi.yaml``.
        stack: Stack name (``Pulumi.<stack>.yaml`` in the stack config directory).
        raw_config: Use this ``config:`` mapping instead of the stack file.
        config_file: Read this stack file instead of the one in the stack config directory.
        logger: Receives the engine's log messages (default: a silent logger).

    Returns:
        The resources (sorted parent-first, siblings by type and name), resolved stack outputs with
        secrets redacted, and the encoded config.

    Raises:
        PreviewConfigError: The project or stack file is missing or malformed.
        ProgramExit: The program called ``sys.exit`` with a non-zero status.
        ProgramError: The program raised any other exception.
    """
    project = read_project(project_dir)
    config, secret_keys = read_stack_config(project_dir, stack, raw_config=raw_config, config_file=config_file)
    # Pulumi keeps its runtime state (settings, root stack, config) in context variables: running in a
    # copy of the caller's context leaves the caller's state (e.g. a test module's own mocks) untouched.
    return contextvars.copy_context().run(_run_isolated, project, stack, config, secret_keys, logger or _silent())


def _run_isolated(project: Project, stack: str, config: dict[str, str], secret_keys: list[str], logger: logging.Logger) -> PlanRun:
    """Run the program with fresh settings, mocks, monitor and event loop in the current context."""
    mocks = GpuinfraMocks(config)
    monitor = RecordingMonitor(mocks)
    previous_loop = _current_loop()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Secondary failures (futures nobody awaited after the first error) go to the engine logger,
    # not to stderr: the runner reports the program's first error on one line.
    loop.set_exception_handler(lambda _loop, context: logger.debug("asyncio: %s", context.get("message")))
    worker_loops = _install_executor(loop)
    try:
        settings.reset_options(project=project.name, stack=stack, preview=False)
        pulumi.runtime.set_mocks(mocks, project=project.name, stack=stack, preview=False, logger=logger, monitor=monitor)
        set_all_config(config, secret_keys)
        try:
            _execute(str(project.main_path))
        except (ProgramExit, ProgramError) as exc:
            exc.resources = order_records(monitor.records)
            raise
        outputs = _sync_await(_resolve_outputs(settings.get_root_resource()))
    finally:
        _close_loop(loop)
        for worker_loop in worker_loops:
            worker_loop.close()
        asyncio.set_event_loop(previous_loop)
    return PlanRun(
        project=project.name,
        stack=stack,
        config=config,
        secret_keys=secret_keys,
        resources=order_records(monitor.records),
        outputs=outputs,
        invokes=list(mocks.invokes),
    )


def _install_executor(loop: asyncio.AbstractEventLoop) -> list[asyncio.AbstractEventLoop]:
    """Give the loop a thread pool whose threads own an event loop we can close afterwards.

    The mock monitor runs in those threads and calls ``_ensure_event_loop()``, which would otherwise
    leave one unclosed loop per thread, closed (noisily) only at interpreter exit.
    """
    loops: list[asyncio.AbstractEventLoop] = []

    def own_loop() -> None:
        worker = asyncio.new_event_loop()
        asyncio.set_event_loop(worker)
        loops.append(worker)

    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(thread_name_prefix="preview", initializer=own_loop))
    return loops


def _current_loop() -> asyncio.AbstractEventLoop | None:
    """The thread's event loop if one is set (without creating one)."""
    policy = asyncio.get_event_loop_policy()
    local = getattr(policy, "_local", None)
    return getattr(local, "_loop", None) if local is not None else None


def _execute(main_py: str) -> None:
    """Run ``__main__.py`` the way the language host does; translate exits and errors."""
    # The language host runs the program from its directory with that directory first on sys.path.
    saved_path, saved_cwd = list(sys.path), os.getcwd()
    sys.path.insert(0, str(Path(main_py).parent))
    os.chdir(Path(main_py).parent)
    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(main_py, run_name="__main__")))
    except SystemExit as exc:
        if exc.code in (0, None):
            return
        if isinstance(exc.code, int):
            raise ProgramExit(exc.code) from None
        raise ProgramExit(1, str(exc.code)) from None
    except Exception as exc:  # noqa: BLE001 any program failure becomes a one-line error
        raise ProgramError(unwrap(exc)) from exc
    finally:
        sys.path[:] = saved_path
        os.chdir(saved_cwd)


def unwrap(exc: BaseException) -> BaseException:
    """Return the program's own exception from the chain Pulumi may have wrapped it in.

    Pulumi wraps failures while serialising inputs as ``ValueError("While processing resource: ...")``
    raised ``from`` the original, and ``wait_for_rpcs`` re-raises with ``raise exn from exn``, which
    overwrites ``__cause__`` with the exception itself; the original then survives as ``__context__``.

    Args:
        exc: The exception the runtime raised.

    Returns:
        The innermost exception of the explicit-cause chain, or ``exc`` itself.
    """
    seen = {id(exc)}
    while True:
        nxt = exc.__cause__
        if nxt is exc and exc.__context__ is not None:
            nxt = exc.__context__
        if nxt is None or id(nxt) in seen:
            return exc
        exc = nxt
        seen.add(id(exc))


async def _resolve_outputs(root: Any) -> dict[str, Any]:
    """Resolve the root stack's exports; secret outputs become ``"[secret]"``."""
    resolved: dict[str, Any] = {}
    for key, value in massage(getattr(root, "outputs", {}) or {}, []).items():
        output = pulumi.Output.from_input(value)
        if await output.is_secret():
            resolved[key] = REDACTED
        else:
            resolved[key] = clean(await output.future())
    return resolved


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Finish pending callbacks and the default executor, then close the run's loop."""
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


def _silent() -> logging.Logger:
    logger = logging.getLogger("gpuinfra.preview.engine")
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


def order_records(records: list[ResourceRecord]) -> list[ResourceRecord]:
    """Order records depth-first from the stack, siblings by type then name.

    Registrations arrive from worker threads in no fixed order; this makes output stable.

    Args:
        records: Records in arrival order.

    Returns:
        The same records, parents before children.
    """
    known = {(r.type, r.name) for r in records}
    children: dict[tuple[str, str] | None, list[ResourceRecord]] = {}
    for record in records:
        parent = (record.parent["type"], record.parent["name"]) if record.parent else None
        children.setdefault(parent if parent in known else None, []).append(record)
    ordered: list[ResourceRecord] = []
    seen: set[int] = set()

    def visit(key: tuple[str, str] | None) -> None:
        for child in sorted(children.get(key, []), key=lambda r: (r.type, r.name)):
            if id(child) not in seen:
                seen.add(id(child))
                ordered.append(child)
                visit((child.type, child.name))

    visit(None)
    return ordered
