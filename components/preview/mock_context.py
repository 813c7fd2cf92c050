"""What a mocked resource or invoke knows about itself: cloud location and deterministic fake ids."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

# A documentation-style account id; AWS reserves none, this one is the conventional example.
AWS_ACCOUNT_ID = "123456789012"
DEFAULT_AWS_REGION = "us-east-1"
DEFAULT_GCP_PROJECT = "mock-project"
DEFAULT_GCP_REGION = "us-central1"


def digest(*parts: str) -> str:
    """Return a stable hex digest of the parts (sha256).

    Args:
        *parts: Strings identifying the thing being named.

    Returns:
        64 lowercase hex characters.
    """
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def stable_uuid(*parts: str) -> str:
    """Return a UUID derived from the parts, stable across runs.

    Args:
        *parts: Strings identifying the thing being named.

    Returns:
        A UUID string.
    """
    return str(uuid.UUID(digest(*parts)[:32]))


def stable_digits(count: int, *parts: str) -> str:
    """Return ``count`` decimal digits derived from the parts, never starting with 0.

    Args:
        count: Number of digits.
        *parts: Strings identifying the thing being named.

    Returns:
        A digit string.
    """
    digits = str(int(digest(*parts), 16))
    return str(int(digits[0]) % 9 + 1) + digits[1:count]


def fake_certificate(*parts: str) -> str:
    """Return base64 of a PEM-shaped block, as clusters report their CA certificate.

    Args:
        *parts: Strings identifying the cluster.

    Returns:
        Base64 text that decodes to a ``-----BEGIN CERTIFICATE-----`` block (not a real certificate).
    """
    body = base64.b64encode(bytes.fromhex(digest(*parts) * 4)).decode()
    pem = f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
    return base64.b64encode(pem.encode()).decode()


@dataclass
class MockContext:
    """One resource registration or invoke, with the location its provider points at."""

    typ: str
    name: str
    inputs: dict[str, Any]
    aws_region: str = DEFAULT_AWS_REGION
    gcp_project: str = DEFAULT_GCP_PROJECT
    gcp_region: str = DEFAULT_GCP_REGION
    gcp_zone: str = ""
    account: str = AWS_ACCOUNT_ID
    extra: dict[str, Any] = field(default_factory=dict)

    def hex(self, length: int = 17, salt: str = "") -> str:
        """Return ``length`` hex characters stable for this type, name and salt."""
        return digest(self.typ, self.name, salt)[:length]

    def physical_name(self, key: str = "name", *, lower: bool = False) -> str:
        """Return the input ``key`` if set, else Pulumi's auto-name ``<logical name>-<7 hex>``."""
        given = self.inputs.get(key)
        if isinstance(given, str) and given:
            return given
        auto = f"{self.name}-{self.hex(7, 'autoname')}"
        return auto.lower() if lower else auto

    def zone(self) -> str:
        """Return the GCP zone for zonal resources: the input ``zone`` or the region's ``-a`` zone."""
        zone = self.inputs.get("zone") or self.gcp_zone
        return zone if isinstance(zone, str) and zone else f"{self.gcp_region}-a"
