"""Cloud clients for the ops scripts: boto3 with adaptive retries, GCP clients with endpoint overrides for tests."""
from __future__ import annotations

import functools
import os
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from components.ops.errors import OpsError

MAX_ATTEMPTS_ENV, CONNECT_TIMEOUT_ENV, READ_TIMEOUT_ENV = (
    "GPUINFRA_MAX_ATTEMPTS", "GPUINFRA_CONNECT_TIMEOUT", "GPUINFRA_READ_TIMEOUT")
#: Defaults of the retry budget. Adaptive retry mode: client-side rate limiting plus exponential backoff on
#: throttling, 5xx and connection errors, each wait at most 20 s (botocore "Retries" guide; botocore 1.44
#: retries/standard.py MAX_BACKOFF=20). total_max_attempts counts the first try (botocore config.py).
DEFAULT_ATTEMPTS, DEFAULT_CONNECT_S, DEFAULT_READ_S = 5, 5.0, 60.0
BUDGET_HELP = (f"Retry budget per cloud call: at most {DEFAULT_ATTEMPTS} attempts with exponential backoff "
               f"(each wait <= 20 s), connect timeout {DEFAULT_CONNECT_S:g} s, read timeout {DEFAULT_READ_S:g} s; "
               f"override with {MAX_ATTEMPTS_ENV} (1-20), {CONNECT_TIMEOUT_ENV} and {READ_TIMEOUT_ENV} (seconds).")
#: The AWS Pricing API is served from us-east-1 (also eu-central-1, ap-south-1); prices cover every region.
PRICING_REGION = "us-east-1"
GCP_ENDPOINT_ENV = "GPUINFRA_GCP_ENDPOINT"
BILLING_ENDPOINT = "https://cloudbilling.googleapis.com"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


@dataclass(frozen=True)
class RetryBudget:
    """How long one cloud call may take: attempts (first try included) and socket timeouts in seconds."""

    attempts: int = DEFAULT_ATTEMPTS
    connect_s: float = DEFAULT_CONNECT_S
    read_s: float = DEFAULT_READ_S

    @staticmethod
    def from_env(env: Any = os.environ) -> "RetryBudget":
        """Reads GPUINFRA_MAX_ATTEMPTS / GPUINFRA_CONNECT_TIMEOUT / GPUINFRA_READ_TIMEOUT (defaults above).

        Raises:
            OpsError: a value that is not a number in range (exit 2).
        """
        def read(key: str, default: float, kind: type, low: float, high: float) -> Any:
            raw = env.get(key)
            if raw is None or raw == "":
                return kind(default)
            try:
                value = kind(raw)
            except ValueError:
                value = None
            if value is None or not low <= value <= high:
                raise OpsError(f"{key}: {raw!r} must be a {kind.__name__} from {low:g} to {high:g}")
            return value
        return RetryBudget(read(MAX_ATTEMPTS_ENV, DEFAULT_ATTEMPTS, int, 1, 20),
                           read(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_S, float, 0.01, 300),
                           read(READ_TIMEOUT_ENV, DEFAULT_READ_S, float, 0.01, 3600))

    def botocore(self) -> Config:
        """The botocore Config of this budget (adaptive mode)."""
        return Config(retries={"mode": "adaptive", "total_max_attempts": self.attempts},
                      connect_timeout=self.connect_s, read_timeout=self.read_s)

    @property
    def backoff_s(self) -> float:
        """Sum of the waits between attempts: 0.5 s doubling, each at most 20 s."""
        return sum(min(0.5 * 2 ** n, 20.0) for n in range(self.attempts - 1))

    def google_retry(self) -> Any:
        """A google.api_core Retry on transient errors (HTTP 429, 500, 503 and connection errors: api_core
        retry/retry_base.py if_transient_error), bounded like the AWS calls: at most ``attempts`` tries per call
        (first try included), waits 0.5 s doubling up to 20 s (api_core jitters each wait uniformly in
        [0, delay], so a deadline alone would allow any number of quick tries), and an overall deadline of
        backoff + attempts x connect timeout."""
        return _capped_retry_class()(self.attempts, predicate=_transient(), initial=0.5, maximum=20.0, multiplier=2.0,
                            timeout=self.backoff_s + self.attempts * self.connect_s)

    def google_call(self) -> dict[str, Any]:
        """Keyword arguments of a google-cloud-compute call: retry (above) and the per-request timeout."""
        return {"retry": self.google_retry(), "timeout": self.connect_s + self.read_s}


def _transient() -> Any:
    from google.api_core import retry
    return retry.if_transient_error


@functools.lru_cache(maxsize=1)
def _capped_retry_class() -> type:
    from google.api_core import exceptions, retry

    class CappedRetry(retry.Retry):
        """api_core's Retry with an attempt cap: api_core 2.33 bounds retries only by a deadline
        (retry/retry_unary.py retry_target). Each invocation of the wrapped call gets its own count, so one
        Retry can be shared by every call and every page of a listing."""

        def __init__(self, attempts: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.attempts = attempts

        def __call__(self, func: Any, on_error: Any = None) -> Any:
            def per_call(*args: Any, **kwargs: Any) -> Any:
                failures = [0]

                def count(exc: Exception) -> None:  # called for each retryable failure, before the wait
                    failures[0] += 1
                    if on_error is not None:
                        on_error(exc)
                    if failures[0] >= self.attempts:
                        raise exceptions.RetryError(
                            f"gave up after {self.attempts} attempts, last error: {exc}", exc) from exc
                return retry.Retry.__call__(self, func, on_error=count)(*args, **kwargs)
            return per_call

    return CappedRetry


def check_endpoint(flag: str, url: str | None) -> str | None:
    """Returns url unchanged when it is http(s)://host[:port][/path]; None stays None.

    Raises:
        OpsError: anything else (exit 2), naming the flag and the value.
    """
    if url is None:
        return None
    parts = urllib.parse.urlsplit(url)
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise OpsError(f"{flag}: {url!r} is not an endpoint URL (expected http(s)://host[:port], e.g. "
                       "http://127.0.0.1:5000)")
    return url


def aws_client(service: str, region: str, endpoint_url: str | None = None, config: Config | None = None) -> Any:
    """Returns a boto3 client with the retry budget (endpoint_url or AWS_ENDPOINT_URL point it elsewhere)."""
    budget = RetryBudget.from_env().botocore()
    merged = budget.merge(config) if config is not None else budget
    endpoint = check_endpoint("--endpoint-url", endpoint_url)
    if endpoint is None and os.environ.get("AWS_ENDPOINT_URL"):
        check_endpoint("AWS_ENDPOINT_URL", os.environ["AWS_ENDPOINT_URL"])
    return boto3.session.Session().client(service, region_name=region, endpoint_url=endpoint, config=merged)


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


def gcp_endpoint(explicit: str | None = None, flag: str = "--gcp-endpoint") -> str | None:
    """The API endpoint override (flag, else GPUINFRA_GCP_ENDPOINT), None for the real Google endpoints.

    Raises:
        OpsError: a malformed URL (exit 2).
    """
    if explicit:
        return check_endpoint(flag, explicit)
    return check_endpoint(GCP_ENDPOINT_ENV, os.environ.get(GCP_ENDPOINT_ENV) or None)


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
