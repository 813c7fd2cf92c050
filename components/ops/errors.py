"""One-line errors and the exit codes shared by the ops CLIs (0 ok, 1 operational failure, 2 bad input, 3 bug)."""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import TypeVar

from botocore.exceptions import (
    ClientError, ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, NoCredentialsError,
    NoRegionError, PartialCredentialsError, ReadTimeoutError,
)

T = TypeVar("T")

#: The exit codes of every ops script (stated in each --help and in the README).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_CODES_HELP = ("Exit codes: 0 ok; 1 operational failure (endpoint unreachable or timed out after the retry "
                   "budget, server error, failures reported); 2 bad input (flags, stack, bucket, state file, "
                   "credentials, permissions); 3 internal error (please report; GPUINFRA_DEBUG=1 shows the traceback).")
#: S3 error codes meaning "the bucket you named does not exist" (bad input, not an outage).
AWS_NO_BUCKET = frozenset({"NoSuchBucket"})

#: AWS error codes meaning "who you are may not do this" (EC2 says UnauthorizedOperation, most JSON APIs
#: AccessDeniedException, S3 AccessDenied; AuthFailure/InvalidClientTokenId/ExpiredToken are bad credentials).
AWS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure",
                       "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch"})


class OpsError(Exception):
    """A failure the CLI reports as one line; exit_code 2 = usage/credentials/permissions/validation, 1 = operational."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _google_message(exc: BaseException) -> str | None:
    try:  # google libraries are optional at import time for AWS-only use
        from google.api_core import exceptions as gexc
        from google.auth.exceptions import DefaultCredentialsError, RefreshError
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, DefaultCredentialsError):
        return ("GCP credentials not found: run `gcloud auth application-default login` or set "
                "GOOGLE_APPLICATION_CREDENTIALS")
    if isinstance(exc, RefreshError):
        return f"GCP credentials rejected: {str(exc).splitlines()[0]}"
    if isinstance(exc, (gexc.Forbidden, gexc.PermissionDenied, gexc.Unauthorized)):
        return f"GCP permission denied ({exc.code}): {str(exc.message).splitlines()[0]}"
    return None


def _operational(exc: BaseException) -> str | None:
    """The one-line message of an outage-like failure (exit 1), None for anything else."""
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError)):
        return f"cannot reach the AWS endpoint after the retry budget: {exc}"
    if isinstance(exc, ReadTimeoutError):
        return f"AWS endpoint timed out after the retry budget: {exc}"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        return (f"AWS {exc.operation_name} failed (HTTP {status}) after the retry budget: "
                f"{error.get('Code', '?')}: {error.get('Message', '')}").rstrip(": ")
    try:
        import requests
        from google.api_core import exceptions as gexc
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, gexc.RetryError):
        cause = exc.cause if exc.cause is not None else exc
        return f"GCP call gave up after the retry budget: {type(cause).__name__}: {str(cause).splitlines()[0]}"
    if isinstance(exc, gexc.GoogleAPICallError):
        return f"GCP call failed ({exc.code}): {str(exc.message).splitlines()[0]}"
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return f"cannot reach the GCP endpoint after the retry budget: {str(exc).splitlines()[0]}"
    return None


def describe(exc: BaseException) -> str | None:
    """Returns the one-line message for a credentials/permission failure, None for anything else."""
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return ("AWS credentials not found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                "(or run `aws sso login`)")
    if isinstance(exc, NoRegionError):
        return "AWS region not set: pass --region or set AWS_REGION"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        if error.get("Code") in AWS_DENIED:
            op = exc.operation_name
            return f"AWS permission denied on {op}: {error.get('Code')}: {error.get('Message', '')}".rstrip(": ")
        if error.get("Code") in AWS_NO_BUCKET:
            name = error.get("BucketName") or ""
            return f"bucket {name} does not exist ({exc.operation_name}: {error.get('Code')})".replace("  ", " ")
        return None
    from components.catalog import CatalogError  # pure module; imported here to keep this module's deps light
    if isinstance(exc, CatalogError):
        return f"catalog: {exc}"
    return _google_message(exc)


@contextlib.contextmanager
def cloud_errors() -> Iterator[None]:
    """Turns credentials/permission exceptions into OpsError (exit 2) and outages/server errors into OpsError
    (exit 1); anything else propagates."""
    try:
        yield
    except OpsError:
        raise
    except Exception as exc:  # noqa: BLE001 - classified here; unknown ones re-raised unchanged
        message = describe(exc)
        if message is not None:
            raise OpsError(message) from exc
        message = _operational(exc)
        if message is None:
            raise
        raise OpsError(message, EXIT_FAILED) from exc


def run_cli(body: Callable[[], T]) -> T:
    """Runs a CLI body: an OpsError is one stderr line and its exit code; any other exception is one
    "internal error" line and exit 3 (GPUINFRA_DEBUG=1 re-raises it with its traceback)."""
    try:
        with cloud_errors():
            return body()
    except OpsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    except (SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 3
        if os.environ.get("GPUINFRA_DEBUG"):
            raise
        first = (str(exc).splitlines() or [""])[0]
        print(f"error: internal error, please report (GPUINFRA_DEBUG=1 for the traceback): "
              f"{type(exc).__name__}: {first}", file=sys.stderr)
        raise SystemExit(EXIT_INTERNAL) from None


def split_list(text: str | None) -> list[str]:
    """A comma-separated CLI option as a list (``"a, b,"`` -> ``["a", "b"]``; none -> ``[]``)."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]
