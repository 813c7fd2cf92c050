"""Write a stack's monitoring files: Prometheus rule file, Grafana dashboards and (VM mode) prometheus.yml.

Usage (from the repo root):
    python scripts/render_monitoring.py prod --out build/monitoring
    python scripts/render_monitoring.py staging --out /etc/prometheus --gcp-project acme-llm-staging
    promtool check config build/monitoring/prometheus.yml && promtool check rules build/monitoring/gpuinfra-rules.yaml
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import typer  # noqa: E402
import yaml  # noqa: E402

from components.plan.scrape import RULES_FILE, has_vm_fleets, scrape_config  # noqa: E402
from components.plan.stack import plan_stack  # noqa: E402
from components.preview.config import load_raw_config, read_project, stack_file  # noqa: E402
from components.spec import ConfigError, load_stack_spec  # noqa: E402
from components.preview.config import encode_stack_config  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
app = typer.Typer(add_completion=False, help=__doc__)


def render(raw: dict, out: Path, gcp_project: Optional[str] = None) -> list[Path]:
    """Write the files for one stack's raw ``config:`` mapping into ``out``; return the paths written."""
    spec = load_stack_spec(*encode_stack_config("gpuinfra", raw))
    stack = plan_stack(spec)
    project = gcp_project or str(raw.get("gcp:project") or "GCP_PROJECT")
    out.mkdir(parents=True, exist_ok=True)
    rules = {"groups": list(stack.monitoring.rule_groups)}
    files = {out / RULES_FILE: yaml.safe_dump(rules, sort_keys=False, width=1000)}
    for stem, board in stack.monitoring.dashboards.items():
        files[out / "dashboards" / f"gpuinfra-{stem}.json"] = json.dumps(board, indent=2, sort_keys=True) + "\n"
    if has_vm_fleets(spec):
        files[out / "prometheus.yml"] = yaml.safe_dump(scrape_config(stack.basis, project), sort_keys=False, width=1000)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return sorted(files)


@app.command()
def main(stack: str = typer.Argument(..., help="Stack name (stacks/Pulumi.<stack>.yaml)"),
         out: Path = typer.Option(Path("build/monitoring"), help="Output directory"),
         config_file: Optional[Path] = typer.Option(None, help="Read this stack file instead"),
         gcp_project: Optional[str] = typer.Option(None, help="GCE project for VM-mode discovery (default gcp:project)")) -> None:
    """Render rules, dashboards and the VM-mode scrape configuration of STACK."""
    path = config_file or stack_file(read_project(ROOT), stack)
    try:
        written = render(load_raw_config(path), out, gcp_project)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for p in written:
        typer.echo(str(p))


if __name__ == "__main__":
    app()
