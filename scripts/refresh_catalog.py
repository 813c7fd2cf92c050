"""Refresh catalog prices from the clouds: AWS Pricing API + spot history, GCP Cloud Billing Catalog.

Usage (from the repo root):
    python scripts/refresh_catalog.py --dry-run
    python scripts/refresh_catalog.py --cloud aws --region us-east-1 --types p5en.48xlarge,p5.48xlarge
    python scripts/refresh_catalog.py --cloud gcp
    python scripts/refresh_catalog.py --savings-plans --types p5en.48xlarge   # AWS Savings Plans rates

Prints old -> new per type/region with % change, rows added, and rows the API did not answer for ("not
refreshed": kept, never dropped). Exits 2 without writing when a refreshed row fails catalog validation.
Nothing is written when a cloud call fails (unreachable endpoint, HTTP 5xx after the retry budget: exit 1).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import typer  # noqa: E402

from components.catalog import load_raw  # noqa: E402
from components.catalog.load import DATA_DIR  # noqa: E402
from components.ops import clients, prices_aws, prices_gcp, prices_savings  # noqa: E402
from components.ops.errors import EXIT_CODES_HELP, OpsError, run_cli, split_list  # noqa: E402
from components.ops.refresh import LivePrice, refresh, targets  # noqa: E402

app = typer.Typer(add_completion=False, help=__doc__)
EPILOG = f"{EXIT_CODES_HELP} {clients.BUDGET_HELP}"



def aws_fetcher(endpoint_url: Optional[str], page_size: Optional[int]):
    """Returns the AWS fetcher: Pricing get_products per (type, region), lowest spot per region."""
    def fetch(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], LivePrice]:
        pricing = clients.aws_client("pricing", clients.PRICING_REGION, endpoint_url)
        spot: dict[str, dict[str, float]] = {}
        for region in sorted({r for _, r in pairs}):
            ec2 = clients.aws_client("ec2", region, endpoint_url)
            spot[region] = prices_aws.lowest_spot(ec2, sorted({t for t, r in pairs if r == region}), page_size)
        live = {}
        for name, region in pairs:
            price = prices_aws.on_demand_prices(pricing, name, region, page_size)
            live[(name, region)] = LivePrice(price, prices_aws.ON_DEMAND_SOURCE, spot[region].get(name),
                                             prices_aws.SPOT_SOURCE)
        return live
    return fetch


def gcp_fetcher(data_dir: Path, endpoint: Optional[str], anonymous: bool, page_size: int):
    """Returns the GCP fetcher: one pass over the Compute Engine SKUs, then price every (machine, region)."""
    from components.catalog import load_catalog_from

    def fetch(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], LivePrice]:
        catalog = load_catalog_from(data_dir)
        credentials, _ = clients.gcp_credentials(anonymous)
        rates = prices_gcp.sku_rates(prices_gcp.list_skus(clients.billing_session(credentials), endpoint, page_size))
        live = {}
        for name, region in pairs:
            machine = catalog.instance("gcp", name)
            live[(name, region)] = LivePrice(
                prices_gcp.machine_price(rates, machine, region, "on_demand"), prices_gcp.SOURCE,
                prices_gcp.machine_price(rates, machine, region, "spot"), prices_gcp.SPOT_SOURCE)
        return live
    return fetch


def _savings_plans(cloud: str, types: Optional[str], region: Optional[str], data_dir: Path,
                   endpoint_url: Optional[str], page_size: Optional[int], dry_run: bool) -> None:
    """AWS Savings Plans rates of the catalog's AWS (type, region) rows into commitments.yaml."""
    import datetime  # noqa: PLC0415

    if cloud == "gcp":
        raise OpsError("--savings-plans: AWS only (GCP committed-use rates are not refreshed live yet)")
    section = load_raw("aws_instances.yaml", data_dir)["instances"]
    wanted = split_list(types)
    unknown = sorted(set(wanted or ()) - set(section))
    if unknown:
        raise OpsError(f"--types: {', '.join(unknown)} not in the AWS catalog (known: {', '.join(sorted(section))})")
    client = clients.aws_client("savingsplans", clients.PRICING_REGION, endpoint_url)  # a global API
    for line in prices_savings.refresh_savings_plans(client, targets(section, wanted, split_list(region)),
                                                     Path(data_dir) / "commitments.yaml", dry_run,
                                                     datetime.date.today(), page_size):
        typer.echo(line)


@app.command(epilog=EPILOG)
def main(
    cloud: str = typer.Option("all", help="aws, gcp or all."),
    region: Optional[str] = typer.Option(None, help="Comma-separated regions (a region not yet in the catalog "
                                                    "is added for the selected types when the API prices it)."),
    types: Optional[str] = typer.Option(None, help="Comma-separated instance/machine types (default: all)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the diff without writing."),
    data_dir: Path = typer.Option(DATA_DIR, help="Catalog data directory (tests use a copy)."),
    endpoint_url: Optional[str] = typer.Option(None, help="AWS endpoint override (tests; AWS_ENDPOINT_URL works too)."),
    billing_endpoint: Optional[str] = typer.Option(None, help="Cloud Billing endpoint override (tests)."),
    gcp_anonymous: bool = typer.Option(False, help="Anonymous GCP credentials (loopback tests only)."),
    page_size: Optional[int] = typer.Option(None, min=1, help="Page size (tests exercise pagination)."),
    savings_plans: bool = typer.Option(False, "--savings-plans", help="Refresh AWS Savings Plans rates (no upfront, "
                                       "1 and 3 years, Compute and EC2 Instance) in commitments.yaml instead."),
) -> None:
    """Refresh on-demand and spot prices in the catalog data files (or, with --savings-plans, AWS commitment rates)."""
    def body() -> None:
        if cloud not in ("aws", "gcp", "all"):
            raise OpsError(f"--cloud: {cloud!r} must be aws, gcp or all")
        load_raw("gpus.yaml", data_dir)  # fails early, one line, on a wrong --data-dir
        clients.check_endpoint("--endpoint-url", endpoint_url)
        clients.RetryBudget.from_env()  # a bad GPUINFRA_* budget variable is refused before any call
        if savings_plans:
            return _savings_plans(cloud, types, region, data_dir, endpoint_url, page_size, dry_run)
        fetchers = {}
        if cloud in ("aws", "all"):
            fetchers["aws"] = aws_fetcher(endpoint_url, page_size)
        if cloud in ("gcp", "all"):
            endpoint = clients.gcp_endpoint(billing_endpoint, "--billing-endpoint")
            fetchers["gcp"] = gcp_fetcher(data_dir, endpoint, gcp_anonymous, page_size or 5000)
        result = refresh(fetchers, split_list(types), split_list(region), data_dir, dry_run)
        for line in result.lines:
            typer.echo(line)
        for path in result.written:
            typer.echo(f"wrote {path}")
    run_cli(body)


if __name__ == "__main__":
    app()
