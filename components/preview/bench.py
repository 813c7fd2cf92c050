"""Benchmark of the offline plan: wall time next to the Pulumi import floor, per-resource cost, RSS, scaling."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TARGET_RATIO = 2.5  # prod plan time / import floor
TARGET_RSS_MB = 600
SCALE = 10
FLOOR_CODE = (
    "import importlib, sys\n"
    "for name in open(sys.argv[1]).read().split():\n"
    "    importlib.import_module(name)\n"
)


class _NoAliases(yaml.SafeDumper):
    """Writes repeated values out in full: stack files refuse YAML anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@dataclass
class Sample:
    """One finished child process."""

    seconds: float
    rss_mb: float
    code: int
    stdout: str
    stderr: str


def run_child(cmd: list[str]) -> Sample:
    """Run a fresh process; measure wall time and its own peak RSS (``wait4`` rusage of that child).

    Args:
        cmd: The command line.

    Returns:
        Time, peak RSS in MB, exit code and output.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Sample(seconds, usage.ru_maxrss / 1024, proc.returncode, out.read().decode(), err.read().decode())


def plan_cmd(root: Path, stack: str, args: argparse.Namespace, *extra: str) -> list[str]:
    """Command line of one ``scripts/plan.py <stack> --json`` run with the benchmark's pass-through flags."""
    cmd = [sys.executable, str(root / "scripts" / "plan.py"), stack, "--json", *extra]
    for flag in ("project_dir", "sections"):
        if getattr(args, flag):
            cmd += [f"--{flag.replace('_', '-')}", getattr(args, flag)]
    return cmd


def measure_plan(root: Path, stack: str, args: argparse.Namespace, *extra: str) -> tuple[list[Sample], int]:
    """Run the plan ``args.runs`` times; return the samples and the resource count.

    Raises:
        RuntimeError: A run failed; the message carries its last stderr line.
    """
    samples = [run_child(plan_cmd(root, stack, args, *extra)) for _ in range(args.runs)]
    for sample in samples:
        if sample.code not in (0, 1):
            last = (sample.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"plan {stack} exited {sample.code}: {last}")
    return samples, len(json.loads(samples[0].stdout)["resources"])


def measure_floor(modules_file: Path, runs: int) -> float:
    """Median wall time of a fresh interpreter importing exactly the listed modules."""
    return statistics.median(run_child([sys.executable, "-c", FLOOR_CODE, str(modules_file)]).seconds for _ in range(runs))


def measure_paired(root: Path, stack: str, args: argparse.Namespace, modules: Path,
                   *extra: str) -> tuple[list[Sample], float, int]:
    """Plan runs interleaved with import-floor runs (plan, floor, plan, floor...), so machine load moves both.

    Returns:
        The plan samples, the median floor in seconds, and the resource count.
    """
    samples, floors = [], []
    for _ in range(args.runs):
        run, resources = measure_plan(root, stack, _with_runs(args, 1), *extra)
        samples += run
        floors.append(measure_floor(modules, 1))
    return samples, statistics.median(floors), resources


def scaled_config(stack_file: Path, factor: int) -> dict[str, Any]:
    """A stack document whose AWS and GCP ``gpu_pools`` are cloned ``factor`` times (names ``-sN``)."""
    doc = yaml.safe_load(stack_file.read_text())
    for key in ("gpuinfra:aws", "gpuinfra:gcp"):
        section = doc.get("config", {}).get(key)
        if isinstance(section, dict) and isinstance(section.get("gpu_pools"), list):
            pools = section["gpu_pools"]
            section["gpu_pools"] = pools + [_clone(p, n) for n in range(1, factor) for p in pools]
    return doc


def _clone(pool: dict[str, Any], n: int) -> dict[str, Any]:
    """Copy ``n`` of a pool; its reserved floor becomes on-demand (a reservation holds only its own pool's nodes)."""
    capacity = dict(pool.get("capacity", {}))
    reserved = capacity.pop("reserved", 0)
    capacity.pop("reservation", None)
    capacity["on_demand"] = capacity.get("on_demand", 0) + reserved
    return {**pool, "name": f"{pool['name']}-s{n}", "capacity": capacity}


def bench_stack(root: Path, stack: str, args: argparse.Namespace, workdir: Path) -> tuple[float, int] | None:
    """Print the figures of one stack; return (seconds beyond the import floor, resources)."""
    modules = workdir / f"modules-{stack}.txt"
    try:
        _, _ = measure_plan(root, stack, _with_runs(args, 1), "--dump-modules", str(modules))
        samples, floor_s, resources = measure_paired(root, stack, args, modules)
    except RuntimeError as exc:
        print(f"{stack}: FAILED: {exc}")
        return None
    plan_s = statistics.median(s.seconds for s in samples)
    rss = max(s.rss_mb for s in samples)
    beyond = plan_s - floor_s
    print(f"{stack}: plan {plan_s:.2f} s (median of {args.runs}), import floor {floor_s:.2f} s "
          f"({len(modules.read_text().split())} pulumi modules), resources {resources}")
    print(f"plan/import ratio ({stack}): {plan_s / floor_s:.2f}   (target for prod <= {TARGET_RATIO})")
    per_resource = f"{1000 * beyond / resources:.1f}" if resources else "n/a (no resources)"
    print(f"ms per resource beyond import ({stack}): {per_resource}")
    print(f"peak RSS ({stack}): {rss:.0f} MB   (target < {TARGET_RSS_MB} MB)")
    return beyond, resources


def bench_scale(root: Path, stack: str, base: tuple[float, int], args: argparse.Namespace, workdir: Path) -> None:
    """Print registration time and resources of the stack and of its ``SCALE``x GPU-pool variant."""
    project_dir = Path(args.project_dir) if args.project_dir else root
    from components.preview.config import read_project, stack_file

    source = stack_file(read_project(project_dir), stack)
    variant = workdir / f"Pulumi.{stack}-x{SCALE}.yaml"
    variant.write_text(yaml.dump(scaled_config(source, SCALE), Dumper=_NoAliases, sort_keys=False))
    modules = workdir / f"modules-{stack}-x{SCALE}.txt"
    try:
        measure_plan(root, stack, _with_runs(args, 1), "--config-file", str(variant), "--dump-modules", str(modules))
        samples, floor_s, resources = measure_paired(root, stack, args, modules, "--config-file", str(variant))
    except RuntimeError as exc:
        print(f"scale ({stack} x{SCALE}): FAILED: {exc}")
        return
    beyond = statistics.median(s.seconds for s in samples) - floor_s
    if resources and base[1] and base[0] > 0:
        ratio = f"{(beyond / resources) / (base[0] / base[1]):.2f}"
    else:
        ratio = "n/a"  # no resources, or the 1x time beyond import is within noise (<= 0)
    print(f"scale ({stack} x{SCALE}): resources {base[1]} -> {resources}, time beyond import "
          f"{base[0]:.2f} s -> {beyond:.2f} s, per-resource ratio {ratio}   (<= 1 ~ linear or better)")


def report_plan_calls(root: Path, stacks: list[str]) -> None:
    """Print planner calls per plan of each stack (a child process each) and the lines under ``components/``."""
    from components.preview.plan_calls import COUNTED, component_lines  # noqa: PLC0415

    print("planner calls per offline plan (each decision made once: plan_stack = 1):")
    print("  " + "stack".ljust(10) + "".join(name.rjust(20) for name in COUNTED))
    for stack in stacks:
        out = subprocess.run([sys.executable, "-m", "components.preview.plan_calls", str(root), stack], cwd=root,
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"  {stack}: plan failed ({out.stderr.strip().splitlines()[-1:]})")
            continue
        counts = json.loads(out.stdout)
        print("  " + stack.ljust(10) + "".join(str(counts[name]).rjust(20) for name in COUNTED))
    print(f"lines of Python under components/: {component_lines(root)}")


def _with_runs(args: argparse.Namespace, runs: int) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), "runs": runs})


def main(argv: list[str] | None, root: Path) -> int:
    """Benchmark every stack (or ``--stacks``) and the scale variant; print figures, never assert.

    Args:
        argv: Command-line arguments.
        root: Repository root (holds ``scripts/plan.py``).

    Returns:
        0, or 1 if a plan failed.
    """
    p = argparse.ArgumentParser(prog="bench.py", description=__doc__)
    p.add_argument("--runs", type=int, default=5, help="runs per measurement (median), default 5")
    p.add_argument("--stacks", help="comma-separated stacks (default: every Pulumi.<stack>.yaml)")
    p.add_argument("--scale-stack", default="prod", help="stack to replicate for the scale run (default prod)")
    p.add_argument("--project-dir", help=argparse.SUPPRESS)
    p.add_argument("--sections", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    from components.preview.config import list_stacks, read_project

    project = read_project(Path(args.project_dir) if args.project_dir else root)
    stacks = args.stacks.split(",") if args.stacks else list_stacks(project)
    report_plan_calls(root, stacks)
    results: dict[str, tuple[float, int] | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for stack in stacks:
            results[stack] = bench_stack(root, stack, args, Path(tmp))
        if args.scale_stack not in results:
            results[args.scale_stack] = bench_stack(root, args.scale_stack, args, Path(tmp))
        base = results[args.scale_stack]
        if base is not None:
            bench_scale(root, args.scale_stack, base, args, Path(tmp))
    return 1 if any(r is None for r in results.values()) else 0
