"""GPU capacity finder: where a pool's instance/machine types are offered, at what spot price, with what quota.

Usage (from the repo root):
    python scripts/capacity.py --stack prod --pool h200-use1
    python scripts/capacity.py --instance-types p5en.48xlarge,p5.48xlarge --regions us-east-1,us-west-2 --nodes 2
    python scripts/capacity.py --accelerator nvidia-l4 --gcp-project my-proj --json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import typer  # noqa: E402

from components.catalog import Catalog, load_catalog  # noqa: E402
from components.ops import clients  # noqa: E402
from components.ops.capacity import aws_capacity, gcp_capacity, ladder_needs, render_table  # noqa: E402
from components.ops.errors import OpsError, run_cli, split_list  # noqa: E402

app = typer.Typer(add_completion=False, help=__doc__)



def _stack_spec(stack: str):
    from components.preview.config import read_stack_config
    from components.spec import ConfigError, load_stack_spec
    try:
        return load_stack_spec(*read_stack_config(ROOT, stack))
    except (ConfigError, ValueError, OSError) as exc:
        raise OpsError(f"--stack {stack}: {exc}") from None


def _resolve(catalog: Catalog, stack: Optional[str], pool: Optional[str], types: list[str], accelerator: Optional[str],
             nodes: int) -> tuple[str, list[str], dict, Optional[str], list[str], object]:
    """Returns (cloud, types, needs, gcp project, default regions, ladder)."""
    if stack or pool:
        if not (stack and pool):
            raise OpsError("--stack and --pool go together")
        from components.plan.ladder import plan_ladder
        spec = _stack_spec(stack)
        try:
            cloud, pool_spec = spec.pool(pool)
        except KeyError:
            raise OpsError(f"--pool: {pool!r} not in stack {stack} (pools: "
                           f"{', '.join(p.name for _, p in spec.pools())})") from None
        ladder = plan_ladder(spec, cloud, pool_spec)
        project = spec.gcp.project if cloud == "gcp" and spec.gcp else None
        return (cloud, list(pool_spec.instance_types), ladder_needs(ladder, catalog, cloud, pool_spec.instance_types),
                project, [ladder.region], ladder)
    if accelerator:
        types = [n for n in catalog.instance_names("gcp") if catalog.instance("gcp", n).accelerator == accelerator]
        if not types:
            known = sorted({catalog.instance("gcp", n).accelerator for n in catalog.instance_names("gcp")})
            raise OpsError(f"--accelerator: {accelerator!r} has no catalog machine type (known: {', '.join(known)})")
    if not types:
        raise OpsError("give --stack/--pool, --instance-types or --accelerator")
    cloud = "gcp" if accelerator or catalog.instance("gcp", types[0]) else "aws"
    unknown = [t for t in types if catalog.instance(cloud, t) is None]
    if unknown:
        raise OpsError(f"--instance-types: {', '.join(unknown)} not in the {cloud} catalog")
    regions = sorted({r for t in types for r in catalog.regions(cloud, t)})
    return cloud, types, ladder_needs(None, catalog, cloud, types, nodes), None, regions, None


@app.command()
def main(
    stack: Optional[str] = typer.Option(None, help="Stack name (dev|staging|prod); with --pool."),
    pool: Optional[str] = typer.Option(None, help="GPU pool name of the stack."),
    instance_types: Optional[str] = typer.Option(None, help="Comma-separated AWS or GCP types (instead of a pool)."),
    accelerator: Optional[str] = typer.Option(None, help="GCP accelerator type, e.g. nvidia-l4 (instead of a pool)."),
    regions: Optional[str] = typer.Option(None, help="Comma-separated regions (default: the pool's region, or "
                                                     "every catalog region of the types; GCP: every offering)."),
    nodes: int = typer.Option(1, min=1, help="Without a pool: nodes needed at max (on-demand and spot each)."),
    block_count: Optional[int] = typer.Option(None, min=0, help="AWS Capacity Block instances to price "
                                              "(default: the pool's capacity-block rung, else 0 = skip)."),
    block_hours: int = typer.Option(24, min=24, help="AWS Capacity Block duration, hours."),
    gcp_project: Optional[str] = typer.Option(None, help="GCP project (default: the stack's, else ADC's)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of the table."),
    endpoint_url: Optional[str] = typer.Option(None, help="AWS endpoint override (tests; AWS_ENDPOINT_URL works too)."),
    gcp_endpoint: Optional[str] = typer.Option(None, help="GCP Compute endpoint override (tests)."),
    gcp_anonymous: bool = typer.Option(False, help="Anonymous GCP credentials (loopback tests only)."),
    page_size: Optional[int] = typer.Option(None, min=1, help="AWS page size (tests exercise pagination)."),
) -> None:
    """Rank regions/zones for a pool by availability, quota headroom and spot price."""
    def body() -> None:
        catalog = load_catalog()
        cloud, types, needs, project, default_regions, ladder = _resolve(
            catalog, stack, pool, split_list(instance_types), accelerator, nodes)
        wanted = split_list(regions) or None
        if cloud == "aws":
            count = block_count
            if count is None:
                rung = ladder.rung("capacity-block") if ladder else None
                count = rung.max_nodes if rung else 0
            factory = lambda service, region: clients.aws_client(service, region, endpoint_url)  # noqa: E731
            report = aws_capacity(wanted or default_regions, types, needs, catalog, factory, count, block_hours,
                                  page_size)
        else:
            credentials, adc_project = clients.gcp_credentials(gcp_anonymous)
            project_id = gcp_project or project or adc_project
            if not project_id:
                raise OpsError("GCP project unknown: pass --gcp-project")
            endpoint = clients.gcp_endpoint(gcp_endpoint)
            factory = lambda kind, _unused: clients.compute_client(kind, credentials, endpoint)  # noqa: E731
            report = gcp_capacity(project_id, wanted or ([ladder.region] if ladder else None), types, needs, catalog,
                                  factory)
        typer.echo(json.dumps(report.to_json(), indent=1, default=str) if as_json else render_table(report))
    run_cli(body)


if __name__ == "__main__":
    app()
