"""GPU capacity finder: where a pool's instance/machine types are offered, at what spot price, with what quota.

Usage (from the repo root):
    python scripts/capacity.py --stack prod --pool h200-use1
    python scripts/capacity.py --instance-types p5en.48xlarge,p5.48xlarge --regions us-east-1,us-west-2 --nodes 2
    python scripts/capacity.py --accelerator nvidia-l4 --gcp-project my-proj --json
    python scripts/capacity.py --capacity-blocks --stack prod
    python scripts/capacity.py --capacity-blocks --instance-types p5.48xlarge --regions us-east-1 --block-count 2 \
        --block-hours 48 --start-after 2026-12-10 --end-before 2027-01-01

--capacity-blocks searches Capacity Block for ML offerings (DescribeCapacityBlockOfferings) for every
aws.capacity_blocks[] entry of --stack (or the flags), lists them cheapest first and prints, for the chosen one
(cheapest fee, then earliest start), the two stack keys to set: aws.capacity_blocks[].offering_id and
aws.capacity_blocks[].availability_zone, with the upfront fee and the window. Nothing is bought. An entry that
already names its offering_id is not searched again (the stack buys exactly that one); an availability_zone without
an offering_id limits the search to that zone.
"""
from __future__ import annotations

import datetime
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
from components.ops import capacity_blocks as blocks  # noqa: E402
from components.ops.capacity import aws_capacity, gcp_capacity, ladder_needs, render_table  # noqa: E402
from components.ops.errors import EXIT_CODES_HELP, EXIT_FAILED, OpsError, run_cli, split_list  # noqa: E402

app = typer.Typer(add_completion=False, help=__doc__)
EPILOG = (f"{EXIT_CODES_HELP} With --capacity-blocks, exit 1 also when a block has no offering. "
          f"{clients.BUDGET_HELP}")


def _stack_spec(stack: str, stack_file: Optional[Path] = None):
    from components.preview.config import PreviewConfigError, read_stack_config
    from components.spec import ConfigError, load_stack_spec
    try:
        return load_stack_spec(*read_stack_config(ROOT, stack, config_file=stack_file))
    except (ConfigError, PreviewConfigError, ValueError, OSError) as exc:
        raise OpsError(f"--stack {stack}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def _date(flag: str, text: Optional[str]) -> Optional[datetime.date]:
    if text is None:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise OpsError(f"{flag}: {text!r} is not a date (YYYY-MM-DD)") from None


def _block_hours_ok(hours: int) -> bool:
    """Capacity Block lengths: 1-14 days in 1-day steps, then 7-day steps up to 182 days (EC2 user guide)."""
    days, rem = divmod(hours, 24)
    return rem == 0 and (1 <= days <= 14 or (days <= 182 and days % 7 == 0))


def _block_requests(catalog: Catalog, stack: Optional[str], stack_file: Optional[Path], types: list[str], regions: list[str],
                    count: Optional[int], hours: int, start: Optional[str], end: Optional[str]) -> list:
    if stack:
        found = blocks.requests_from_spec(_stack_spec(stack, stack_file))
        if not found:
            raise OpsError(f"--stack {stack}: no aws.capacity_blocks[] entries to search for")
        return found
    if not types or not count:
        raise OpsError("--capacity-blocks needs --stack, or --instance-types with --block-count >= 1")
    unknown = [t for t in types if catalog.instance("aws", t) is None]
    if unknown:
        raise OpsError(f"--instance-types: {', '.join(unknown)} not in the aws catalog")
    if not _block_hours_ok(hours):
        raise OpsError(f"--block-hours: {hours} is not a Capacity Block length (24..336 in steps of 24, then "
                       "multiples of 168 up to 4368)")
    first, last = _date("--start-after", start), _date("--end-before", end)
    return [blocks.BlockRequest(f"{t} in {r}", None, r, t, count, hours, first, last)
            for t in types for r in (regions or sorted(catalog.regions("aws", t)))]


def _resolve(catalog: Catalog, stack: Optional[str], stack_file: Optional[Path], pool: Optional[str],
             types: list[str], accelerator: Optional[str], nodes: int) -> tuple[str, list[str], dict, Optional[str], list[str], object]:
    """Returns (cloud, types, needs, gcp project, default regions, ladder)."""
    if stack or pool:
        if not (stack and pool):
            raise OpsError("--stack and --pool go together")
        from components.plan.ladder import plan_ladder
        spec = _stack_spec(stack, stack_file)
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


@app.command(epilog=EPILOG)
def main(
    stack: Optional[str] = typer.Option(None, help="Stack name (dev|staging|prod); with --pool or --capacity-blocks."),
    stack_file: Optional[Path] = typer.Option(None, help="Read this stack file instead of "
                                              "stacks/Pulumi.<stack>.yaml (e.g. a copy under review)."),
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
    capacity_blocks: bool = typer.Option(False, "--capacity-blocks", help="Search Capacity Block offerings for "
                                         "the stack's aws.capacity_blocks[] (or the flags) instead of ranking."),
    start_after: Optional[str] = typer.Option(None, help="--capacity-blocks without --stack: earliest start "
                                              "date, YYYY-MM-DD (UTC)."),
    end_before: Optional[str] = typer.Option(None, help="--capacity-blocks without --stack: latest end date, "
                                             "YYYY-MM-DD (UTC)."),
) -> None:
    """Rank regions/zones for a pool by availability, quota headroom and spot price (or --capacity-blocks)."""
    def body() -> None:
        catalog = load_catalog()
        if capacity_blocks:
            return _blocks(catalog)
        cloud, types, needs, project, default_regions, ladder = _resolve(
            catalog, stack, stack_file, pool, split_list(instance_types), accelerator, nodes)
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
                                  factory, clients.RetryBudget.from_env().google_call())
        typer.echo(json.dumps(report.to_json(), indent=1, default=str) if as_json else render_table(report))

    def _blocks(catalog: Catalog) -> None:
        requests = _block_requests(catalog, stack, stack_file, split_list(instance_types), split_list(regions), block_count,
                                   block_hours, start_after, end_before)
        factory = lambda service, region: clients.aws_client(service, region, endpoint_url)  # noqa: E731
        found = blocks.search(requests, factory, page_size)
        typer.echo(json.dumps(blocks.to_json(found), indent=1) if as_json else blocks.render(found, stack))
        empty = blocks.unmatched(found)
        if empty:
            raise OpsError(f"no Capacity Block offering for {', '.join(empty)}", EXIT_FAILED)
    run_cli(body)


if __name__ == "__main__":
    app()
