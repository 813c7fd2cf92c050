"""Smoke-test a deployed router after `pulumi up`: real OpenAI-compatible requests, checked against the plan.

Usage (from the repo root):
    GPUINFRA_SMOKE_KEY=... python scripts/smoke.py --stack prod --cluster gpuinfra-prod-us-east-1 \
        --endpoint https://llm.example.com
    python scripts/smoke.py --stack staging --endpoint http://10.0.0.5 --key "$KEY" --skip rate-limit --json

Checks: every model of the cluster's router answers (and the gateway names it in x-gpuinfra-model); a wrong
key and no key get 401; `model: auto` with each tier value reaches the tier's model, without one the default
model; the override header is ignored for non-internal keys and honoured for --internal-key; each canary keeps
every user id on one revision and takes its planned share of users (tolerance --canary-tolerance); the rate
limit answers 429 (needs limit x Envoy replicas + 1 requests: run it last, or --skip rate-limit).
Exit codes: 0 every check passed or was skipped, 1 a check failed, 2 bad input or the endpoint is unreachable.
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

from components.ops.errors import OpsError, run_cli, split_list  # noqa: E402
from components.ops.smoke import SmokeOptions, run_smoke, smoke_plan  # noqa: E402
from components.preview.config import PreviewConfigError, read_stack_config  # noqa: E402
from components.spec.errors import ConfigError  # noqa: E402
from components.spec.load import load_stack_spec  # noqa: E402

app = typer.Typer(add_completion=False, help=__doc__)


def _spec(stack: str, config_file: Optional[Path]):
    try:
        config, secret_keys = read_stack_config(ROOT, stack, config_file=config_file)
        return load_stack_spec(config, secret_keys)
    except (ConfigError, PreviewConfigError) as exc:
        raise OpsError(f"--stack {stack}: {exc}") from None


@app.command()
def main(
    stack: str = typer.Option(..., help="Stack whose plan the endpoint must keep (stacks/Pulumi.<stack>.yaml)."),
    endpoint: str = typer.Option(..., envvar="GPUINFRA_SMOKE_ENDPOINT", help="Gateway base URL."),
    key: str = typer.Option(..., envvar="GPUINFRA_SMOKE_KEY", help="API key of a non-internal client (e.g. "
                            "gpuinfra:vllm_api_key, client `default`)."),
    internal_key: Optional[str] = typer.Option(None, envvar="GPUINFRA_SMOKE_INTERNAL_KEY",
                                               help="API key of an internal client (positive override check)."),
    cluster: Optional[str] = typer.Option(None, help="Cluster whose router the endpoint is (needed when the "
                                                     "stack has several)."),
    config_file: Optional[Path] = typer.Option(None, help="Read this stack YAML file instead."),
    skip: Optional[str] = typer.Option(None, help="Comma-separated checks to skip: models, auth, tiers, "
                                                  "override, canary, rate-limit."),
    canary_users: int = typer.Option(40, min=1, help="Synthetic user ids per canary (each sent twice)."),
    canary_tolerance: float = typer.Option(15.0, min=0, help="Allowed gap, percentage points, between the "
                                                             "observed and planned canary share."),
    max_rate_requests: int = typer.Option(2000, min=1, help="Most requests the rate-limit check may send."),
    timeout: float = typer.Option(60.0, min=0.1, help="Seconds per request."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document instead of lines."),
) -> None:
    """Run the checks and exit 0 (all passed/skipped), 1 (a check failed) or 2 (bad input, unreachable)."""
    def body() -> int:
        if not endpoint.startswith(("http://", "https://")):
            raise OpsError(f"--endpoint: {endpoint!r} is not a URL (allowed: http://... or https://...)")
        plan = smoke_plan(_spec(stack, config_file), cluster)
        options = SmokeOptions(canary_users=canary_users, canary_tolerance_pct=canary_tolerance,
                               max_rate_requests=max_rate_requests, timeout_seconds=timeout)
        checks = run_smoke(plan, endpoint, key, internal_key, options, tuple(split_list(skip)))
        failed = [c for c in checks if c.status == "fail"]
        if as_json:
            typer.echo(json.dumps({"cluster": plan.cluster, "endpoint": endpoint, "checks": [c.__dict__ for c in checks],
                                   "failed": len(failed)}, indent=1))
        else:
            for c in checks:
                typer.echo(f"{c.status.upper():4}  {c.name:32} {c.detail}")
            typer.echo(f"{len(checks) - len(failed)}/{len(checks)} checks passed or skipped on {plan.cluster}")
        return 1 if failed else 0

    raise typer.Exit(run_cli(body))


if __name__ == "__main__":
    app()
