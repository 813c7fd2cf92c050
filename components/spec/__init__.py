"""Typed stack intent: the pydantic schema of ``gpuinfra:`` config and its loader."""
from components.spec.errors import ConfigError
from components.spec.load import load_stack_spec
from components.spec.stack import SECRET_KEYS, StackSpec

__all__ = ["ConfigError", "SECRET_KEYS", "StackSpec", "load_stack_spec"]
