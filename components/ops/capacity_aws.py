"""AWS capacity facts for GPU instance types: AZ offerings, spot prices, Capacity Block offers, vCPU quotas."""
from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from components.ops.clients import pages

#: EC2 vCPU quota codes per (quota family, purchase option) in Service Quotas (service code "ec2").
#: Source: Service Quotas console names "Running On-Demand G and VT instances" (L-DB2E81BA), "Running On-Demand
#: P instances" (L-417A185B), "All G and VT Spot Instance Requests" (L-3819A6DF), "All P Spot Instance Requests"
#: (L-7212CCBC); cross-checked against public quota listings (2026-08).
QUOTA_CODES: dict[tuple[str, str], str] = {
    ("G", "on-demand"): "L-DB2E81BA", ("P", "on-demand"): "L-417A185B",
    ("G", "spot"): "L-3819A6DF", ("P", "spot"): "L-7212CCBC",
}
SPOT_PRODUCT = "Linux/UNIX"


@dataclass(frozen=True)
class SpotPrice:
    """The latest spot price of one type in one AZ."""

    instance_type: str
    zone: str
    price: float
    timestamp: datetime.datetime


@dataclass(frozen=True)
class CapacityBlockOffer:
    """One Capacity Block for ML offer (prepaid, upfront fee in USD for the whole block)."""

    instance_type: str
    zone: str
    count: int
    start: str
    end: str
    duration_hours: int
    upfront_fee: float
    currency: str
    offering_id: str = ""


@dataclass(frozen=True)
class QuotaCheck:
    """A vCPU quota against what a pool needs at its maximum."""

    region: str
    family: str
    purchase: str
    code: str
    name: str
    limit_vcpu: float | None
    needed_vcpu: int

    @property
    def headroom(self) -> float | None:
        """limit - needed in vCPU (None when the quota could not be read)."""
        return None if self.limit_vcpu is None else self.limit_vcpu - self.needed_vcpu

    @property
    def ok(self) -> bool:
        """True when the quota covers the need (an unreadable quota is not ok)."""
        return self.headroom is not None and self.headroom >= 0


def az_offerings(ec2: Any, instance_types: Iterable[str], page_size: int | None = None) -> dict[str, list[str]]:
    """Returns zone -> sorted instance types offered there (describe_instance_type_offerings, availability-zone)."""
    kwargs: dict[str, Any] = {"LocationType": "availability-zone",
                              "Filters": [{"Name": "instance-type", "Values": sorted(set(instance_types))}]}
    if page_size:
        kwargs["PaginationConfig"] = {"PageSize": page_size}
    zones: dict[str, set[str]] = {}
    for page in pages(ec2, "describe_instance_type_offerings", **kwargs):
        for offer in page.get("InstanceTypeOfferings", []):
            zones.setdefault(offer["Location"], set()).add(offer["InstanceType"])
    return {zone: sorted(types) for zone, types in sorted(zones.items())}


def spot_prices(ec2: Any, instance_types: Iterable[str], since: datetime.datetime | None = None,
                page_size: int | None = None) -> dict[tuple[str, str], SpotPrice]:
    """Returns (type, zone) -> latest Linux/UNIX spot price (describe_spot_price_history, every page read).

    AWS also returns the price in effect at StartTime, so a short window still covers every AZ.
    """
    kwargs: dict[str, Any] = {"InstanceTypes": sorted(set(instance_types)), "ProductDescriptions": [SPOT_PRODUCT],
                              "StartTime": since or datetime.datetime.now(datetime.timezone.utc)
                              - datetime.timedelta(hours=3)}
    if page_size:
        kwargs["PaginationConfig"] = {"PageSize": page_size}
    latest: dict[tuple[str, str], SpotPrice] = {}
    for page in pages(ec2, "describe_spot_price_history", **kwargs):
        for row in page.get("SpotPriceHistory", []):
            sample = SpotPrice(row["InstanceType"], row["AvailabilityZone"], float(row["SpotPrice"]),
                               row["Timestamp"])
            key = (sample.instance_type, sample.zone)
            if key not in latest or sample.timestamp > latest[key].timestamp:
                latest[key] = sample
    return latest


def capacity_blocks(ec2: Any, instance_type: str, count: int, duration_hours: int,
                    page_size: int | None = None, start_after: datetime.date | None = None,
                    end_before: datetime.date | None = None) -> list[CapacityBlockOffer]:
    """Returns Capacity Block offers for count instances over duration_hours, cheapest fee first.

    Args:
        start_after / end_before: The date window (StartDateRange = earliest start, EndDateRange = latest end
            of the offering, EC2 API DescribeCapacityBlockOfferings), both at 00:00 UTC of the date.
    """
    kwargs: dict[str, Any] = {"InstanceType": instance_type, "InstanceCount": count,
                              "CapacityDurationHours": duration_hours}
    if start_after is not None:
        kwargs["StartDateRange"] = _midnight(start_after)
    if end_before is not None:
        kwargs["EndDateRange"] = _midnight(end_before)
    if page_size:
        kwargs["PaginationConfig"] = {"PageSize": page_size}
    offers = [CapacityBlockOffer(
        instance_type=o["InstanceType"], zone=o["AvailabilityZone"], count=int(o["InstanceCount"]),
        start=str(o["StartDate"]), end=str(o["EndDate"]), duration_hours=int(o["CapacityBlockDurationHours"]),
        upfront_fee=float(o["UpfrontFee"]), currency=o.get("CurrencyCode", "USD"),
        offering_id=o.get("CapacityBlockOfferingId", ""))
        for page in pages(ec2, "describe_capacity_block_offerings", **kwargs)
        for o in page.get("CapacityBlockOfferings", [])]
    return sorted(offers, key=lambda o: (o.upfront_fee, o.zone, o.start))


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc)


def _listed_quotas(quotas: Any, page_size: int | None) -> dict[str, dict]:
    kwargs: dict[str, Any] = {"ServiceCode": "ec2"}
    if page_size:
        kwargs["PaginationConfig"] = {"PageSize": page_size}
    wanted = set(QUOTA_CODES.values())
    return {q["QuotaCode"]: q for page in pages(quotas, "list_service_quotas", **kwargs)
            for q in page.get("Quotas", []) if q["QuotaCode"] in wanted}


def _default_quota(quotas: Any, code: str) -> dict | None:
    try:
        return quotas.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode=code)["Quota"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchResourceException":
            return None
        raise


def quota_checks(quotas: Any, region: str, needs: Mapping[tuple[str, str], int],
                 page_size: int | None = None) -> list[QuotaCheck]:
    """Compares applied vCPU quotas (list_service_quotas; the AWS default when none applied) with needs.

    Args:
        quotas: A Service Quotas client of the region.
        needs: (family "G"|"P", purchase "on-demand"|"spot") -> vCPUs needed at maximum scale.
    """
    listed = _listed_quotas(quotas, page_size)
    checks = []
    for (family, purchase), needed in sorted(needs.items()):
        code = QUOTA_CODES[(family, purchase)]
        quota = listed.get(code) or _default_quota(quotas, code)
        checks.append(QuotaCheck(region=region, family=family, purchase=purchase, code=code,
                                 name=(quota or {}).get("QuotaName", code),
                                 limit_vcpu=None if quota is None else float(quota["Value"]), needed_vcpu=needed))
    return checks
