"""Live GCP prices from the Cloud Billing Catalog: machine price = vCPU + RAM SKUs of the family + GPU SKUs."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from components.catalog import InstanceType
from components.ops.clients import BILLING_ENDPOINT, RetryBudget

#: Compute Engine's service id in the Cloud Billing Catalog (Billing Catalog API docs, 2026-08).
COMPUTE_SERVICE = "services/6F81-5844-456A"
SOURCE = f"Cloud Billing Catalog API {COMPUTE_SERVICE}/skus (family vCPU + RAM SKUs + GPU SKUs)"
SPOT_SOURCE = f"Cloud Billing Catalog API {COMPUTE_SERVICE}/skus (Preemptible usage type: spot)"
#: SKU description stem of each accelerator, as the catalog words it ("Nvidia L4 GPU running in Americas";
#: spot: "Nvidia L4 GPU attached to Spot Preemptible VMs running in ..."). Observed in public SKU listings (2026-08).
GPU_SKU_NAMES = {
    "nvidia-l4": "Nvidia L4 GPU", "nvidia-tesla-a100": "Nvidia Tesla A100 GPU",
    "nvidia-a100-80gb": "Nvidia Tesla A100 80GB GPU", "nvidia-h100-80gb": "Nvidia H100 80GB GPU",
    "nvidia-h200-141gb": "Nvidia H200 141GB GPU", "nvidia-b200": "Nvidia B200 GPU",
}
USAGE = {"OnDemand": "on_demand", "Preemptible": "spot"}


@dataclass(frozen=True)
class SkuRate:
    """One hourly unit price: kind "core" | "ram" | "gpu", key = family ("G2") or accelerator."""

    kind: str
    key: str
    purchase: str
    region: str
    usd: float


def list_skus(session: Any, endpoint: str | None = None, page_size: int = 5000,
              budget: RetryBudget | None = None) -> Iterator[dict]:
    """Yields every Compute Engine SKU (GET /v1/services/6F81-5844-456A/skus, following nextPageToken).

    Each page is retried on 429/5xx and connection errors within the retry budget (clients.RetryBudget).
    """
    budget = budget or RetryBudget.from_env()
    url = f"{(endpoint or BILLING_ENDPOINT).rstrip('/')}/v1/{COMPUTE_SERVICE}/skus"
    token = ""

    def get(params: dict) -> Any:
        response = session.get(url, params=params, timeout=(budget.connect_s, budget.read_s))
        _raise_for_status(response)
        return response

    while True:
        params = {"currencyCode": "USD", "pageSize": page_size, **({"pageToken": token} if token else {})}
        body = budget.google_retry()(get)(params).json()
        yield from body.get("skus", [])
        token = body.get("nextPageToken", "")
        if not token:
            return


def _raise_for_status(response: Any) -> None:
    if response.status_code < 400:
        return
    from google.api_core import exceptions
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200]
    raise exceptions.from_http_status(response.status_code, f"Cloud Billing Catalog: {message}")


def unit_usd(sku: dict) -> float:
    """Returns the hourly unit price (first tier; units + nanos) of a SKU's current pricing info."""
    rate = sku["pricingInfo"][0]["pricingExpression"]["tieredRates"][0]["unitPrice"]
    return int(rate.get("units") or 0) + int(rate.get("nanos") or 0) / 1e9


def _classify(sku: dict) -> tuple[str, str] | None:
    text = sku.get("description", "")
    group = sku.get("category", {}).get("resourceGroup", "")
    for accelerator, stem in GPU_SKU_NAMES.items():
        if group == "GPU" and re.match(rf"^{re.escape(stem)} (attached to Spot Preemptible VMs )?running in", text):
            return "gpu", accelerator
    match = re.match(r"^(?:Spot Preemptible )?([A-Z][0-9A-Z]*) Instance (Core|Ram) running in", text)
    if match:
        return ("core" if match.group(2) == "Core" else "ram"), match.group(1)
    return None


def sku_rates(skus: Iterator[dict]) -> dict[tuple[str, str, str, str], float]:
    """Indexes OnDemand/Preemptible SKUs: (kind, key, purchase, region) -> USD per hour (per vCPU/GiB/GPU)."""
    rates = {}
    for sku in skus:
        purchase = USAGE.get(sku.get("category", {}).get("usageType", ""))
        kind = _classify(sku)
        if purchase is None or kind is None or not sku.get("pricingInfo"):
            continue
        for region in sku.get("serviceRegions", []):
            rates[(kind[0], kind[1], purchase, region)] = unit_usd(sku)
    return rates


def machine_price(rates: dict, machine: InstanceType, region: str, purchase: str) -> float | None:
    """Returns vCPU x core + RAM GiB x ram + GPUs x gpu rate, None when any component has no SKU there.

    None too for machines with bundled Local SSD (A3 High, A2 Ultra): their disks are billed at Local SSD rates on
    top of these SKUs (a3-highgpu-8g: about $0.72/h for 16 x 375 GB, the gap between the sum and Google's billing
    export in us-east4 and europe-west4), and the cost model counts bundled disks inside the machine price
    (``plan.storage.billed_local_ssd``). Writing the sum would price them low; the refresh keeps their rows.
    """
    if machine.local_nvme_mode == "bundled":
        return None
    family = machine.name.split("-", 1)[0].upper()
    parts = [(rates.get(("core", family, purchase, region)), machine.vcpu),
             (rates.get(("ram", family, purchase, region)), machine.ram_gib),
             (rates.get(("gpu", machine.accelerator, purchase, region)), machine.gpu_count)]
    if any(rate is None for rate, _ in parts):
        return None
    return round(sum(rate * qty for rate, qty in parts), 6)
