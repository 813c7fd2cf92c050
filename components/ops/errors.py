"""One-line, exit-2 errors for missing credentials and denied permissions, shared by the ops CLIs."""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TypeVar

from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError

T = TypeVar("T")

#: AWS error codes meaning "who you are may not do this" (EC2 says UnauthorizedOperation, most JSON APIs
#: AccessDeniedException, S3 AccessDenied; AuthFailure/InvalidClientTokenId/ExpiredToken are bad credentials).
AWS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure",
                       "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch"})


class OpsError(Exception):
    """A failure the CLI reports as one line; exit_code 2 = usage/credentials/permissions/validation."""

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
        return None
    from components.catalog import CatalogError  # pure module; imported here to keep this module's deps light
    if isinstance(exc, CatalogError):
        return f"catalog: {exc}"
    return _google_message(exc)


@contextlib.contextmanager
def cloud_errors() -> Iterator[None]:
    """Turns credentials/permission exceptions into OpsError (one line, exit 2); others propagate."""
    try:
        yield
    except OpsError:
        raise
    except Exception as exc:  # noqa: BLE001 - classified by describe(); unknown ones re-raised unchanged
        message = describe(exc)
        if message is None:
            raise
        raise OpsError(message) from exc


def run_cli(body: Callable[[], T]) -> T:
    """Runs a CLI body, printing an OpsError as one stderr line and exiting with its code."""
    try:
        with cloud_errors():
            return body()
    except OpsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None


def split_list(text: str | None) -> list[str]:
    """A comma-separated CLI option as a list (``"a, b,"`` -> ``["a", "b"]``; none -> ``[]``)."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]
