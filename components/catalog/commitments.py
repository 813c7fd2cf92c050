"""Commitment rates (Savings Plans, committed-use discounts) per instance type and region, from data/commitments.yaml."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from components.catalog.types import CatalogError
from components.catalog.validate import parse_date
from components.catalog.vocab import Cloud

COMMITMENTS_FILE = Path(__file__).resolve().parent / "data" / "commitments.yaml"
#: The purchase options of an always-on floor: AWS Compute / EC2 Instance Savings Plans (no upfront), GCP
#: resource-based committed-use discounts; each 1 or 3 years.
Commitment = Literal["none", "savings_plan_1y", "savings_plan_3y", "instance_savings_plan_1y",
                     "instance_savings_plan_3y", "cud_1y", "cud_3y"]
#: The cloud each commitment is sold on.
COMMITMENT_CLOUD: dict[str, str] = {
    "savings_plan_1y": "aws", "savings_plan_3y": "aws", "instance_savings_plan_1y": "aws",
    "instance_savings_plan_3y": "aws", "cud_1y": "gcp", "cud_3y": "gcp",
}


@dataclass(frozen=True)
class CommitmentRate:
    """USD per node-hour under a commitment, with provenance."""

    usd: float
    source: str
    as_of: dt.date


@functools.cache
def _rows() -> dict:
    data = yaml.safe_load(COMMITMENTS_FILE.read_text())
    return validate_rates(data.get("rates") if isinstance(data, dict) else None)


def validate_rates(rates: object) -> dict:
    """The ``rates`` mapping of commitments.yaml, checked: known keys for each cloud, positive rates, source and date.

    Raises:
        CatalogError: naming the first bad row.
    """
    if not isinstance(rates, dict):
        raise CatalogError("commitments.yaml: missing mapping 'rates'")
    for cloud, types in rates.items():
        for itype, regions in (types or {}).items():
            for region, row in regions.items():
                keys = set(row) - {"source", "as_of"}
                bad = [k for k in keys if k not in COMMITMENT_CLOUD or COMMITMENT_CLOUD[k] != cloud
                       or not isinstance(row[k], (int, float)) or row[k] <= 0]
                if bad or not row.get("source") or parse_date(row.get("as_of")) is None:
                    raise CatalogError(f"commitments.yaml: rates.{cloud}.{itype}.{region}: bad row {row!r}")
    return rates


def commitment_rate(cloud: Cloud, instance_type: str, region: str, commitment: str) -> CommitmentRate | None:
    """The committed USD per node-hour of one type in one region, None when the catalog has no dated rate."""
    row = ((_rows().get(cloud) or {}).get(instance_type) or {}).get(region) or {}
    if commitment not in row:
        return None
    return CommitmentRate(usd=float(row[commitment]), source=row["source"], as_of=parse_date(row["as_of"]))


def priced_commitments(cloud: Cloud, commitment: str) -> list[str]:
    """Every ``type@region`` with a rate for ``commitment`` (for error messages), sorted."""
    return sorted(f"{itype}@{region}" for itype, regions in (_rows().get(cloud) or {}).items()
                  for region, row in regions.items() if commitment in row)
