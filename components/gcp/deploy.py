"""Wires the `gcp` section of the spec into components (filled by the gcp capacity work)."""
from __future__ import annotations

from components.spec import StackSpec


def deploy_gcp(spec: StackSpec) -> list:
    """Create the gcp resources of the stack; returns the Kubernetes clusters for the serving layer."""
    return []
