"""Pulumi mocks for the offline preview: realistic resource outputs and invoke answers from registries."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pulumi

from components.preview.aws_invokes import AWS_INVOKES
from components.preview.aws_outputs import AWS_OUTPUTS
from components.preview.aws_outputs import generic as aws_generic
from components.preview.aws_refusals import S3Refusals
from components.preview.gcp_invokes import GCP_INVOKES
from components.preview.gcp_outputs import GCP_OUTPUTS
from components.preview.gcp_outputs import generic as gcp_generic
from components.preview.k8s_outputs import K8S_OUTPUTS, object_outputs
from components.preview.mock_context import (
    DEFAULT_AWS_REGION,
    DEFAULT_GCP_PROJECT,
    DEFAULT_GCP_REGION,
    MockContext,
    stable_uuid,
)
from components.preview.values import decode_provider_input, unwrap_secret

OutputsFn = Callable[[MockContext], dict[str, Any]]

RESOURCE_OUTPUTS: dict[str, OutputsFn] = {**AWS_OUTPUTS, **GCP_OUTPUTS, **K8S_OUTPUTS}
INVOKES: dict[str, OutputsFn] = {**AWS_INVOKES, **GCP_INVOKES}


class UnknownInvokeError(LookupError):
    """The program called a data source the offline preview has no answer for."""


def _fallback(token: str) -> OutputsFn | None:
    """Generic outputs per package for types without a registry entry (None: echo inputs only)."""
    package = token.split(":", 1)[0]
    if package == "aws":
        return aws_generic
    if package == "gcp":
        return gcp_generic
    if package == "kubernetes" and not token.startswith(("kubernetes:helm", "kubernetes:yaml")):
        return object_outputs
    return None


class GpuinfraMocks(pulumi.runtime.Mocks):
    """Mocks answering every registration and invoke offline, shaped like the real clouds.

    Resource outputs are the inputs echoed plus per-type computed outputs from ``RESOURCE_OUTPUTS``
    (fallbacks per package). Invokes are answered from ``INVOKES``; an unknown token raises
    ``UnknownInvokeError``. AWS and GCP location comes from the explicit provider a resource or invoke
    uses, else from the ``aws:region`` / ``gcp:project`` / ``gcp:region`` / ``gcp:zone`` config.
    """

    def __init__(self, config: dict[str, str] | None = None) -> None:
        """Create mocks for one run.

        Args:
            config: The encoded stack configuration (``namespace:key`` -> string).
        """
        config = config or {}
        self._defaults = {
            "aws_region": config.get("aws:region") or DEFAULT_AWS_REGION,
            "gcp_project": config.get("gcp:project") or DEFAULT_GCP_PROJECT,
            "gcp_region": config.get("gcp:region") or DEFAULT_GCP_REGION,
            "gcp_zone": config.get("gcp:zone") or "",
        }
        self._providers: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._s3 = S3Refusals()
        self.invokes: list[str] = []

    def _location(self, token: str, provider_ref: str | None, inputs: dict[str, Any]) -> dict[str, str]:
        """Location fields for a context: a per-resource ``region`` (AWS) or the explicit provider's
        inputs override the config defaults."""
        loc = dict(self._defaults)
        provider = self._providers.get((provider_ref or "").rsplit("::", 1)[-1], {})
        package = token.split(":", 1)[0]
        if package == "aws":
            region = inputs.get("region") or provider.get("region")
            if isinstance(region, str) and region:
                loc["aws_region"] = region
        elif package == "gcp":
            for key, field in (("project", "gcp_project"), ("region", "gcp_region"), ("zone", "gcp_zone")):
                if isinstance(provider.get(key), str) and provider[key]:
                    loc[field] = provider[key]
        return loc

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """Return ``(id, outputs)``: inputs echoed plus the type's computed outputs.

        Args:
            args: The registration as the mock monitor saw it.

        Returns:
            The physical id and the output properties.
        """
        if args.typ.startswith("pulumi:providers:"):
            return self._new_provider(args)
        plain = {k: unwrap_secret(v) for k, v in args.inputs.items()}
        self._s3.observe(args.typ, plain)
        ctx = MockContext(args.typ, args.name, plain, **self._location(args.typ, args.provider, plain))
        compute = RESOURCE_OUTPUTS.get(args.typ) or _fallback(args.typ)
        computed = compute(ctx) if compute else {}
        outputs = {**args.inputs, **computed}
        ident = computed.get("id") or f"{args.name}-{ctx.hex(8)}"
        return str(ident), outputs

    def _new_provider(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """Remember an explicit provider's configuration by its id, so dependants inherit its location."""
        ident = stable_uuid(args.typ, args.name)
        decoded = {k: decode_provider_input(v) for k, v in args.inputs.items()}
        with self._lock:
            self._providers[ident] = decoded
        return ident, dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Answer an invoke from ``INVOKES``.

        Args:
            args: The invoke token, arguments and provider reference.

        Returns:
            The result properties (camelCase, as on the wire) and no check failures.

        Raises:
            UnknownInvokeError: No offline answer is registered for the token.
        """
        answer = INVOKES.get(args.token)
        if answer is None:
            raise UnknownInvokeError(
                f"no offline answer for invoke {args.token!r}; add it to INVOKES "
                "(components/preview/aws_invokes.py or gcp_invokes.py)"
            )
        plain = {k: unwrap_secret(v) for k, v in (args.args or {}).items()}
        ctx = MockContext(args.token, "", plain, **self._location(args.token, args.provider, plain))
        with self._lock:
            self.invokes.append(args.token)
        return answer(ctx), []
