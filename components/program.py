"""The program's steps under Pulumi: read the CLI's config, validate it, plan once, build each cloud and the serving layer."""
from __future__ import annotations

import pulumi
from pulumi.runtime import config as runtime_config

from components.plan.stack import StackPlan, plan_stack
from components.spec import StackSpec, load_stack_spec


def read_config() -> tuple[dict[str, str], list[str]]:
    """Every config key the CLI passed (``PULUMI_CONFIG`` or the runtime's), and the secret keys."""
    config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env())
    secret_keys.update(k for k in config if runtime_config.is_config_secret(k))
    return {k: str(v) for k, v in config.items()}, sorted(secret_keys)


def load_spec() -> StackSpec:
    """Validate the stack's configuration before any resource is registered (raises ConfigError)."""
    config, secret_keys = read_config()
    return load_stack_spec(config, secret_keys)


_LAST: StackPlan | None = None


def last_plan() -> StackPlan | None:
    """The plan the latest ``plan`` in this process made (the offline report reads it), or None."""
    return _LAST


def plan(spec: StackSpec) -> StackPlan:
    """Plan the stack once (raises ConfigError before anything is registered) and remember it for the report."""
    global _LAST
    _LAST = None  # a failed plan leaves no stale plan behind
    _LAST = plan_stack(spec)
    return _LAST


def build(stack: StackPlan) -> None:
    """Create every component the plan holds and export the stack outputs."""
    targets = []
    if stack.aws is not None:
        from components.aws.deploy import deploy_aws  # noqa: PLC0415

        targets += deploy_aws(stack)
    if stack.gcp is not None:
        from components.gcp.deploy import deploy_gcp  # noqa: PLC0415

        targets += deploy_gcp(stack)
    if targets:
        from components.k8s.deploy import deploy_serving  # noqa: PLC0415

        deploy_serving(stack, targets)
    pulumi.export("environment", stack.environment)
    pulumi.export("monthly_cost_usd", {k: round(v, 2) for k, v in vars(stack.cost.monthly).items()})
