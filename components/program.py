"""The program's steps under Pulumi: read the CLI's config, validate it, build each cloud and the serving layer."""
from __future__ import annotations

import pulumi
from pulumi.runtime import config as runtime_config

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


def build(spec: StackSpec) -> None:
    """Create every component the spec asks for and export the stack outputs."""
    from components.plan.cost import estimate_cost  # noqa: PLC0415

    targets = []
    if spec.aws is not None:
        from components.aws.deploy import deploy_aws  # noqa: PLC0415

        targets += deploy_aws(spec)
    if spec.gcp is not None:
        from components.gcp.deploy import deploy_gcp  # noqa: PLC0415

        targets += deploy_gcp(spec)
    if targets:
        from components.k8s.deploy import deploy_serving  # noqa: PLC0415

        deploy_serving(spec, targets)
    cost = estimate_cost(spec)
    pulumi.export("environment", spec.environment)
    pulumi.export("monthly_cost_usd", {k: round(v, 2) for k, v in vars(cost.monthly).items()})
