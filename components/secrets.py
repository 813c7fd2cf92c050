"""Stack secrets: read from Pulumi secrets, or generated once per stack and kept in state as secrets."""
from __future__ import annotations

import pulumi
import pulumi_random as random


_MADE: dict[tuple[str, int], pulumi.Output[str]] = {}


def _configured_or_random(key: str, length: int) -> pulumi.Output[str]:
    """One value per program run (keyed by the run's root resource, so two offline runs never share)."""
    run = id(pulumi.runtime.settings.get_root_resource())
    if (key, run) not in _MADE:
        _MADE[(key, run)] = _make(key, length)
    return _MADE[(key, run)]


def _make(key: str, length: int) -> pulumi.Output[str]:
    configured = pulumi.Config("gpuinfra").get_secret(key)
    if configured is not None:
        return configured
    generated = random.RandomPassword(f"{key.replace('_', '-')}", length=length, special=False)
    return pulumi.Output.secret(generated.result)


def vllm_api_key() -> pulumi.Output[str]:
    """The key every vLLM endpoint requires (``gpuinfra:vllm_api_key``, else a generated 48-character key)."""
    return _configured_or_random("vllm_api_key", 48)


def grafana_admin_password() -> pulumi.Output[str]:
    """Grafana's admin password (``gpuinfra:grafana_admin_password``, else generated)."""
    return _configured_or_random("grafana_admin_password", 32)


def hf_token() -> pulumi.Output[str] | None:
    """The Hugging Face token (``gpuinfra:hf_token``) or None: serving loads weights from the bucket, not the Hub."""
    return pulumi.Config("gpuinfra").get_secret("hf_token")
