"""The plan's report sections (cost, model fit, routing, warnings, policy) from the project's own modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from components.preview.run import PlanRun

SectionsBuilder = Callable[[PlanRun], dict[str, Any]]
SECTION_KEYS = ("cost", "sizing", "warnings", "routing", "priorities", "violations")


def build_sections(run: PlanRun) -> dict[str, Any]:
    """Build the report sections for a finished run.

    Reads the ``StackPlan`` the program itself planned and rendered (``components.program.last_plan()``), then
    calls ``components.plan.report.build_report(plan) -> {cost, sizing, warnings, routing, priorities}`` and
    ``policies.rules.evaluate(spec, resources, report) -> [violation]`` where ``resources`` is the JSON
    contract list ``[{type, name, parent, inputs, options}]``. The modules are imported here, lazily,
    so that a missing module fails the plan loudly rather than at import of the preview library.

    Args:
        run: The finished offline run.

    Returns:
        ``{"cost", "sizing", "warnings", "routing", "priorities", "violations"}``.
    """
    from components.plan.report import build_report
    from components.program import last_plan
    from policies.rules import evaluate

    stack = last_plan()
    if stack is None:
        raise RuntimeError("the program registered resources without planning (components.program.plan)")
    spec = stack.basis.spec
    report = build_report(stack)
    resources = [r.to_dict() for r in run.resources]
    violations = evaluate(spec, resources, report)
    return normalize_sections({**report, "violations": violations})


def normalize_sections(sections: dict[str, Any]) -> dict[str, Any]:
    """Check a sections mapping and fill the optional lists.

    Args:
        sections: Output of a sections builder; ``cost`` and ``sizing`` are required.

    Returns:
        A dict with exactly ``SECTION_KEYS``; ``warnings``, ``routing``, ``priorities`` and ``violations`` default
        to [].

    Raises:
        KeyError: ``cost`` or ``sizing`` is missing.
        ValueError: A violation has a level other than ``mandatory`` or ``advisory``.
    """
    for key in ("cost", "sizing"):
        if key not in sections:
            raise KeyError(f"report has no {key!r} section (got {sorted(sections)})")
    out = {key: sections.get(key) for key in SECTION_KEYS}
    for key in ("warnings", "routing", "priorities", "violations"):
        out[key] = list(out[key] or [])
    for violation in out["violations"]:
        if violation.get("level") not in ("mandatory", "advisory"):
            raise ValueError(f"violation {violation.get('policy')!r}: level must be mandatory or advisory, got {violation.get('level')!r}")
    return out
