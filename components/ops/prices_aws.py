"""Live AWS prices: on-demand from the Pricing API (get_products), spot from describe_spot_price_history."""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from components.ops import capacity_aws
from components.ops.clients import pages

#: The filters that pin one on-demand Linux price per (type, region): shared tenancy, no pre-installed software,
#: "Used" capacity (not unused reservations). Field names as in the AmazonEC2 price list (Pricing API docs, 2026-08).
BASE_FILTERS = {"operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used"}
ON_DEMAND_SOURCE = ("AWS Pricing API get_products (AmazonEC2; Linux, Shared tenancy, preInstalledSw NA, "
                    "capacitystatus Used)")
SPOT_SOURCE = "EC2 describe_spot_price_history (lowest current Linux/UNIX price across the region's AZs)"


class PriceParseError(ValueError):
    """A price list item the parser does not understand (names the SKU)."""


def on_demand_usd(item: dict) -> float | None:
    """Returns the hourly USD on-demand price of one price list item (the OnDemand term's "Hrs" dimension)."""
    sku = item.get("product", {}).get("sku", "?")
    hourly = [float(dim["pricePerUnit"]["USD"])
              for term in item.get("terms", {}).get("OnDemand", {}).values()
              for dim in term.get("priceDimensions", {}).values() if dim.get("unit") == "Hrs"]
    if len(set(hourly)) > 1:
        raise PriceParseError(f"SKU {sku}: several hourly on-demand prices {sorted(set(hourly))}")
    return hourly[0] if hourly else None


def on_demand_prices(pricing: Any, instance_type: str, region: str, page_size: int | None = None) -> float | None:
    """Returns the on-demand USD/h of a type in a region, None when the Pricing API has no such product."""
    filters = {"instanceType": instance_type, "regionCode": region, **BASE_FILTERS}
    kwargs: dict[str, Any] = {
        "ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1",
        "Filters": [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()]}
    if page_size:
        kwargs["PaginationConfig"] = {"PageSize": page_size}
    prices = set()
    for page in pages(pricing, "get_products", **kwargs):
        for raw in page.get("PriceList", []):
            item = json.loads(raw) if isinstance(raw, str) else raw
            attrs = item.get("product", {}).get("attributes", {})
            if attrs.get("instanceType") != instance_type or attrs.get("regionCode", region) != region:
                continue  # the API filtered already; this guards against a broadened filter
            price = on_demand_usd(item)
            if price is not None:
                prices.add(price)
    if len(prices) > 1:
        raise PriceParseError(f"{instance_type} in {region}: several on-demand prices {sorted(prices)}")
    return prices.pop() if prices else None


def lowest_spot(ec2: Any, instance_types: Iterable[str], page_size: int | None = None) -> dict[str, float]:
    """Returns type -> the lowest current spot price over the region's AZs (latest sample per AZ)."""
    lowest: dict[str, float] = {}
    for (itype, _zone), sample in capacity_aws.spot_prices(ec2, instance_types, page_size=page_size).items():
        lowest[itype] = min(sample.price, lowest.get(itype, sample.price))
    return lowest
