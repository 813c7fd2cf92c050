"""The offline plan: one run plus its report sections, the JSON contract and the exit status."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.preview.run import PlanRun, run_program
from components.preview.sections import SectionsBuilder, build_sections, normalize_sections

# Keys of the --json document; CI and other tools read it. Add keys, never rename or remove them.
DOCUMENT_KEYS = ("stack", "project", "resources", "outputs", "cost", "sizing", "violations", "warnings", "routing",
                 "priorities")


@dataclass
class Plan:
    """A finished offline run with its report sections."""

    run: PlanRun
    sections: dict[str, Any]


def plan(
    project_dir: str | Path,
    stack: str,
    *,
    raw_config: dict[str, Any] | None = None,
    config_file: str | Path | None = None,
    sections: SectionsBuilder = build_sections,
    logger: logging.Logger | None = None,
) -> Plan:
    """Run the program offline and build the report sections.

    Args:
        project_dir: Directory holding ``Pulumi.yaml``.
        stack: Stack name.
        raw_config: Use this ``config:`` mapping instead of the stack file.
        config_file: Read this stack file instead of the stack config directory's.
        sections: Builds the sections from the run (tests inject a fake).
        logger: Receives the engine's log messages (default: silent).

    Returns:
        The plan.
    """
    run = run_program(project_dir, stack, raw_config=raw_config, config_file=config_file, logger=logger)
    return Plan(run=run, sections=normalize_sections(sections(run)))


def plan_document(result: Plan) -> dict[str, Any]:
    """Return the ``--json`` document (keys ``DOCUMENT_KEYS``, in that order).

    Args:
        result: A finished plan.

    Returns:
        A JSON-serialisable dict with no secret plaintext.
    """
    run = result.run
    doc = {
        "stack": run.stack,
        "project": run.project,
        "resources": [r.to_dict() for r in run.resources],
        "outputs": run.outputs,
    }
    doc |= {key: result.sections[key] for key in DOCUMENT_KEYS[4:]}
    return doc


def exit_status(result: Plan) -> int:
    """Return the CLI exit status of a finished plan: 1 with a mandatory violation, else 0.

    Args:
        result: A finished plan.

    Returns:
        0 or 1 (2, invalid config or program error, is decided before a plan exists).
    """
    return 1 if any(v.get("level") == "mandatory" for v in result.sections["violations"]) else 0
