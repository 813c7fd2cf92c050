"""Wires the `aws` section of the spec into components (filled by the aws capacity work)."""
from __future__ import annotations

from components.spec import StackSpec


def deploy_aws(spec: StackSpec) -> list:
    """Create the aws resources of the stack; returns the Kubernetes clusters for the serving layer."""
    return []
