"""Wires the serving layer onto every cluster target (filled by the serving work)."""
from __future__ import annotations

from components.spec import StackSpec


def deploy_serving(spec: StackSpec, targets: list) -> None:
    """Deploy GPU software, vLLM services, autoscaling, router and monitoring on each cluster."""
    return None
