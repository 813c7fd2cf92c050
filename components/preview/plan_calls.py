"""Count planner calls during one offline plan (issue 16's "plan once" figure): ``python -m components.preview.plan_calls ROOT STACK``."""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

#: Planner entry points counted: each should run once per plan (``plan_stack``) or once per pool / pair.
COUNTED = ("plan_stack", "plan_ladder", "plan_serving", "plan_model_on_pool", "fit", "plan_workloads", "plan_routes",
           "estimate_cost")
_PLAN_DIR = str(Path(__file__).resolve().parent.parent / "plan")


def count_calls(root: Path, stack: str) -> dict[str, int]:
    """Run the offline plan of ``stack`` once and count calls of :data:`COUNTED` functions in ``components/plan``."""
    from components.preview.plan import plan  # noqa: PLC0415 (import inside: the profiler must see the run only)

    counts: collections.Counter[str] = collections.Counter()

    def profile(frame, event, _arg):  # noqa: ANN001
        code = frame.f_code
        if event == "call" and code.co_name in COUNTED and code.co_filename.startswith(_PLAN_DIR):
            counts[code.co_name] += 1

    sys.setprofile(profile)
    try:
        plan(root, stack)
    finally:
        sys.setprofile(None)
    return {name: counts.get(name, 0) for name in COUNTED}


def component_lines(root: Path) -> int:
    """Lines of Python under ``components/``."""
    return sum(len(p.read_text().splitlines()) for p in (root / "components").rglob("*.py"))


if __name__ == "__main__":
    print(json.dumps(count_calls(Path(sys.argv[1]), sys.argv[2])))
