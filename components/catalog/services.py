"""Non-GPU list prices (control planes, storage, NAT, system nodes) from data/services.yaml."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.catalog.vocab import Cloud

SERVICES_FILE = Path(__file__).resolve().parent / "data" / "services.yaml"


@dataclass(frozen=True)
class ServicePrice:
    """One USD list price with its source and date."""

    usd: float
    source: str
    as_of: dt.date


@functools.cache
def _raw() -> dict:
    return yaml.safe_load(SERVICES_FILE.read_text())


def service_price(section: str, key: str) -> ServicePrice:
    """A price row, e.g. ``service_price("control_planes", "eks_cluster_hour")``."""
    row = _raw()[section][key]
    return ServicePrice(usd=float(row["usd"]), source=row["source"], as_of=row["as_of"])


def system_node_price(cloud: Cloud, machine_type: str) -> ServicePrice | None:
    """Hourly on-demand price of a CPU system node type, None when the catalog lacks it."""
    row = _raw()["system_nodes"][cloud].get(machine_type)
    return None if row is None else ServicePrice(usd=float(row["usd"]), source=row["source"], as_of=row["as_of"])
