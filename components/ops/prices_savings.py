"""Live AWS Savings Plans rates (no upfront, Linux, shared tenancy) and their rows in commitments.yaml."""
from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from components.catalog.commitments import validate_rates

#: Request and response shapes: botocore's savingsplans 2019-06-28 service model (rest-json, POST
#: /DescribeSavingsPlansOfferingRates; filters region/instanceType/tenancy/productDescription; no paginator, so
#: nextToken is followed here; maxResults 0-1000).
PLAN_KEYS = {"Compute": "savings_plan", "EC2Instance": "instance_savings_plan"}
YEAR_SECONDS = 31_536_000
SOURCE = ("AWS Savings Plans API DescribeSavingsPlansOfferingRates (No Upfront, Linux/UNIX, shared tenancy, "
          "BoxUsage hourly rate)")
#: An on-demand Linux instance-hour: usage type ``[<region prefix>-]BoxUsage:<type>``, operation ``RunInstances``
#: (Windows and licensed images carry ``RunInstances:<code>``; dedicated tenancy is ``DedicatedUsage``).
BOX_USAGE = re.compile(r"^(?:[A-Z0-9]+-)?BoxUsage:(?P<type>[a-z0-9.-]+)$")


def offering_rates(client: Any, instance_type: str, region: str, page_size: int | None = None) -> dict[str, float]:
    """Hourly no-upfront rates of one instance type in one region: ``{"savings_plan_1y": usd, ...}``.

    Args:
        client: A boto3 ``savingsplans`` client (the API is global, served from us-east-1).
        instance_type: EC2 instance type.
        region: Region code.
        page_size: ``maxResults`` per call (tests exercise pagination).

    Returns:
        Commitment key -> USD per instance-hour; the higher one when the API answers two rates for one key.
    """
    request: dict[str, Any] = {
        "savingsPlanPaymentOptions": ["No Upfront"], "savingsPlanTypes": list(PLAN_KEYS), "products": ["EC2"],
        "serviceCodes": ["AmazonEC2"],
        "filters": [{"name": "instanceType", "values": [instance_type]}, {"name": "region", "values": [region]},
                    {"name": "tenancy", "values": ["shared"]}, {"name": "productDescription", "values": ["Linux/UNIX"]}]}
    if page_size:
        request["maxResults"] = page_size
    out: dict[str, float] = {}
    token = None
    while True:
        page = client.describe_savings_plans_offering_rates(**request, **({"nextToken": token} if token else {}))
        for result in page.get("searchResults", []):
            key = _key(result, instance_type)
            if key is not None:
                out[key] = max(out.get(key, 0.0), float(result["rate"]))
        token = page.get("nextToken")
        if not token:
            return out


def _key(result: Mapping[str, Any], instance_type: str) -> str | None:
    usage = BOX_USAGE.match(result.get("usageType", ""))
    offer = result.get("savingsPlanOffering", {})
    kind = PLAN_KEYS.get(offer.get("planType", ""))
    years = round(int(offer.get("durationSeconds", 0)) / YEAR_SECONDS)
    if (usage is None or usage["type"] != instance_type or result.get("operation") != "RunInstances"
            or result.get("unit") != "Hrs" or kind is None or years not in (1, 3)
            or offer.get("paymentOption") != "No Upfront"):
        return None
    return f"{kind}_{years}y"


def aws_block(rows: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """The ``  aws:`` block of commitments.yaml for ``type -> region -> row`` (rows carry source and as_of)."""
    if not any(rows.values()):
        return "  aws: {}\n"
    lines = ["  aws:"]
    for itype in sorted(t for t in rows if rows[t]):
        lines.append(f"    {itype}:")
        for region in sorted(rows[itype]):
            row = rows[itype][region]
            values = ", ".join(f"{k}: {float(v):.6f}" for k, v in sorted(row.items()) if k not in ("source", "as_of"))
            lines.append(f"      {region}: {{source: {json.dumps(str(row['source']))}, as_of: {row['as_of']}, {values}}}")
    return "\n".join(lines) + "\n"


def merge_aws(text: str, fresh: Mapping[str, Mapping[str, Mapping[str, float]]], today: dt.date) -> str:
    """commitments.yaml with the ``aws`` rows of the (type, region) pairs in ``fresh`` replaced (dated ``today``);
    other AWS rows keep their own source and date, and the rest of the file (comments, GCP rows, anchors) is
    unchanged.

    Raises:
        CatalogError: the candidate file does not validate (nothing should be written then).
        ValueError: the file does not have the expected ``rates: aws: ... gcp:`` layout.
    """
    old = ((yaml.safe_load(text).get("rates") or {}).get("aws") or {})
    rows: dict[str, dict[str, dict[str, Any]]] = {t: dict(regions) for t, regions in old.items()}
    for itype, regions in fresh.items():
        for region, rates in regions.items():
            rows.setdefault(itype, {})[region] = {"source": SOURCE, "as_of": today.isoformat(), **rates}
    start = re.search(r"^  aws:.*$", text, flags=re.M)
    end = re.search(r"^  gcp:", text, flags=re.M)
    if start is None or end is None or end.start() < start.start():
        raise ValueError("commitments.yaml: expected `  aws:` before `  gcp:` under `rates:`")
    candidate = text[:start.start()] + aws_block(rows) + text[end.start():]
    validate_rates(yaml.safe_load(candidate).get("rates"))
    return candidate


def refresh_savings_plans(client: Any, pairs: Iterable[tuple[str, str]], path: Path, dry_run: bool,
                          today: dt.date, page_size: int | None = None) -> list[str]:
    """Fetch the rates of every (type, region) pair and write their rows (unless ``dry_run``); report lines."""
    fresh: dict[str, dict[str, dict[str, float]]] = {}
    lines = []
    for itype, region in pairs:
        rates = offering_rates(client, itype, region, page_size)
        if rates:
            fresh.setdefault(itype, {})[region] = rates
            lines.append(f"aws {itype} {region}: " + ", ".join(f"{k} {v:g}" for k, v in sorted(rates.items())))
        else:
            lines.append(f"aws {itype} {region}: not refreshed (no Savings Plans rate from the API)")
    if fresh and not dry_run:
        path.write_text(merge_aws(path.read_text(), fresh, today))
        lines.append(f"wrote {path}")
    return lines
