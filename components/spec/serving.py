"""Serving-layer settings shared by every model: vLLM version, exposure, autoscaler, router."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from components.spec import values as v
from components.spec.base import Name, Spec

Header = Annotated[str, AfterValidator(v.http_header)]


class TierRuleSpec(Spec):
    """Requests whose tier header equals ``value`` go to ``model``."""

    value: str = Field(pattern=r"^[\x21-\x7e]{1,128}$")
    """Tier header value that selects the rule (1-128 visible ASCII characters)."""
    model: Name
    """Served model (``models[].name``) the tier routes to."""


class RoutingSpec(Spec):
    """One OpenAI-compatible endpoint in front of every served model."""

    enabled: bool = False
    """Deploy the router (one OpenAI-compatible endpoint for every model)."""
    default_model: Name | None = None
    """Model for requests that name no served model and match no tier rule."""
    tier_header: Header = "x-user-tier"
    """Request header naming the caller's tier."""
    tiers: list[TierRuleSpec] = Field(default_factory=list, max_length=100)
    """Tier rules, first match wins."""
    override_header: Header = "x-gpuinfra-model"
    """Header forcing a model; honoured only for callers presenting an internal key."""
    user_header: Header = "x-user-id"
    """Header hashed (stable) to pick the canary slice of a model's traffic."""
    rate_limit_requests_per_minute: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    """Per-API-key request rate limit at the gateway; none = unlimited."""
    clients: list[Name] = Field(default_factory=list, max_length=200)
    """API-key client ids besides ``default`` (keys of the ``gpuinfra:router_api_keys`` secret map); each
    gets its own rate-limit bucket. ``default`` authenticates with ``gpuinfra:vllm_api_key``."""
    internal_clients: list[Name] = Field(default_factory=list, max_length=200)
    """Clients (from ``clients`` or ``default``) whose ``override_header`` is honoured; empty = nobody."""
    client_header: Header = "x-gpuinfra-client"
    """Header the gateway sets to the authenticated client id (any client-sent value is removed first)."""


class ServingSpec(Spec):
    """How models are served (Kubernetes or VM fleets)."""

    vllm_version: Annotated[str, AfterValidator(v.vllm_version)] | None = None
    """vLLM release of the ``vllm/vllm-openai`` image; default: the pinned one in the versions file."""
    namespace: Name = "llm"
    """Kubernetes namespace of the vLLM services."""
    exposure: Literal["cluster-ip", "internal", "public"] = "cluster-ip"
    """``cluster-ip`` inside the cluster; ``internal`` load balancer in the VPC; ``public`` with TLS."""
    public_hostname: Annotated[str, AfterValidator(v.hostname)] | None = None
    """DNS name of the public endpoint (exposure: public)."""
    tls_certificate: Annotated[str, AfterValidator(v.certificate)] | None = None
    """ACM certificate ARN or GCP managed certificate name for the public endpoint."""
    enable_keda: bool = True
    """Queue-depth autoscaling with KEDA; false falls back to an HPA on the same metric."""
    routing: RoutingSpec = RoutingSpec()
    """The model router in front of every model."""

    @model_validator(mode="after")
    def _public(self) -> "ServingSpec":
        if self.exposure == "public" and not (self.public_hostname and self.tls_certificate):
            raise ValueError("exposure 'public' needs public_hostname and tls_certificate (TLS is mandatory)")
        return self
