"""Cloud clients for the ops scripts: boto3 with adaptive retries, GCP clients with endpoint overrides for tests."""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config

#: Adaptive retry mode: client-side rate limiting plus exponential backoff on throttling (botocore docs,
#: "Retries" guide, 2026-08). 10 attempts rides out the EC2/Pricing API throttles these scripts can hit.
RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10})
#: The AWS Pricing API is served from us-east-1 (also eu-central-1, ap-south-1); prices cover every region.
PRICING_REGION = "us-east-1"
GCP_ENDPOINT_ENV = "GPUINFRA_GCP_ENDPOINT"
BILLING_ENDPOINT = "https://cloudbilling.googleapis.com"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


def aws_client(service: str, region: str, endpoint_url: str | None = None, config: Config | None = None) -> Any:
    """Returns a boto3 client with adaptive retries (endpoint_url or AWS_ENDPOINT_URL point it elsewhere)."""
    merged = RETRY_CONFIG.merge(config) if config is not None else RETRY_CONFIG
    return boto3.session.Session().client(service, region_name=region, endpoint_url=endpoint_url, config=merged)


def pages(client: Any, operation: str, **kwargs: Any) -> Iterator[dict]:
    """Yields every page of a paginated AWS operation (botocore paginator, NextToken handled for us).

    A PaginationConfig PageSize below the API's minimum (EC2 describe calls take at least 5) is raised to it.
    """
    paginator = client.get_paginator(operation)
    size = kwargs.get("PaginationConfig", {}).get("PageSize")
    if size:
        limit_key = paginator._pagination_cfg.get("limit_key")  # e.g. MaxResults / MaxParts
        model = client.meta.service_model.operation_model(paginator._model.name)
        shape = model.input_shape.members.get(limit_key) if limit_key else None
        minimum = (shape.metadata.get("min") if shape is not None else None) or 1
        kwargs["PaginationConfig"] = {**kwargs["PaginationConfig"], "PageSize": max(size, minimum)}
    yield from paginator.paginate(**kwargs)


def gcp_credentials(anonymous: bool = False) -> tuple[Any, str | None]:
    """Returns (credentials, default project): Application Default Credentials, or anonymous ones for loopback tests.

    Raises:
        google.auth.exceptions.DefaultCredentialsError: no ADC (the CLIs turn it into one line, exit 2).
    """
    if anonymous:
        from google.auth.credentials import AnonymousCredentials
        return AnonymousCredentials(), None
    import google.auth
    return google.auth.default(scopes=[CLOUD_PLATFORM])


def gcp_endpoint(explicit: str | None = None) -> str | None:
    """The API endpoint override (flag, else GPUINFRA_GCP_ENDPOINT), None for the real Google endpoints."""
    return explicit or os.environ.get(GCP_ENDPOINT_ENV) or None


def compute_client(kind: str, credentials: Any, endpoint: str | None = None) -> Any:
    """Returns a google-cloud-compute REST client by class name, e.g. "RegionsClient"."""
    from google.cloud import compute_v1
    options = {"api_endpoint": endpoint} if endpoint else None
    return getattr(compute_v1, kind)(credentials=credentials, client_options=options)


def storage_client(credentials: Any, project: str | None, endpoint: str | None = None) -> Any:
    """Returns a google-cloud-storage client (endpoint override for the loopback GCS server)."""
    from google.cloud import storage
    options = {"api_endpoint": endpoint} if endpoint else None
    return storage.Client(project=project or "gpuinfra-ops", credentials=credentials, client_options=options)


def billing_session(credentials: Any) -> Any:
    """Returns an authorized requests session for the Cloud Billing Catalog REST API (no client library pinned)."""
    from google.auth.transport.requests import AuthorizedSession
    return AuthorizedSession(credentials)
