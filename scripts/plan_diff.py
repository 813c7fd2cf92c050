"""Cost, resource and policy diff of offline plans (base -> head) per stack, rendered as one markdown PR comment.

Directories hold ``<stack>.json`` (``plan.py <stack> --json`` stdout), ``<stack>.rc`` (exit status), ``<stack>.err``:
    python scripts/plan_diff.py --before-dir base --after-dir head --base-ref main -o diff.md
    python scripts/plan_diff.py --pair base/prod.json --pair head/prod.json
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import typer  # noqa: E402

from components.preview.plan_diff import PlanRun, diff_plans, diff_stack, list_stacks, load_run  # noqa: E402,F401
from components.preview.plan_diff_markdown import MARKER, render_markdown  # noqa: E402,F401

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    before_dir: Optional[Path] = typer.Option(None, help="Base branch plans (<stack>.json/.rc/.err); may be missing."),
    after_dir: Optional[Path] = typer.Option(None, help="Head plans (<stack>.json/.rc/.err)."),
    pair: Optional[list[Path]] = typer.Option(None, help="BEFORE.json then AFTER.json (give --pair twice per stack)."),
    base_ref: str = typer.Option("base", help="Base branch name shown in the title."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the markdown here (default stdout)."),
) -> None:
    """Write the markdown diff of base and head plans."""
    if pair:
        if len(pair) % 2:
            typer.echo("--pair: give BEFORE.json and AFTER.json (an even number of --pair values)", err=True)
            raise typer.Exit(2)
        runs = [(load_run(b.parent, b.stem), load_run(a.parent, a.stem)) for b, a in zip(pair[::2], pair[1::2])]
        diffs = [diff_stack((a or b).stack, b, a) for b, a in runs if a or b]
    elif after_dir:
        diffs = [diff_stack(s, before_dir and load_run(before_dir, s), load_run(after_dir, s))
                 for s in list_stacks(before_dir, after_dir)]
    else:
        typer.echo("give --after-dir (and --before-dir) or --pair BEFORE.json --pair AFTER.json", err=True)
        raise typer.Exit(2)
    text = render_markdown(diffs, base_ref)
    output.write_text(text) if output else sys.stdout.write(text)


if __name__ == "__main__":
    app()
