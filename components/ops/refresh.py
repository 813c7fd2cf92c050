"""Catalog price refresh: merge live prices into the catalog YAML, validate, diff, write (library of refresh_catalog.py)."""
from __future__ import annotations

import copy
import datetime
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.catalog import CatalogError, dump_raw, load_catalog_from, load_raw, validate_instance_row
from components.catalog.load import CLOUD_FILES, DATA_DIR
from components.ops.errors import OpsError
from components.catalog.vocab import Cloud


@dataclass(frozen=True)
class LivePrice:
    """What the cloud API said for one (type, region); None = no answer for that price."""

    on_demand: float | None
    source: str
    spot: float | None = None
    spot_source: str = ""


Fetcher = Callable[[list[tuple[str, str]]], dict[tuple[str, str], LivePrice]]


@dataclass
class RefreshResult:
    """The diff of one refresh: lines to print and what happened per row."""

    lines: list[str] = field(default_factory=list)
    refreshed: int = 0
    changed: int = 0
    added: list[str] = field(default_factory=list)
    not_refreshed: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)


def _pct(old: Any, new: float) -> str:
    if not isinstance(old, (int, float)) or not old:
        return "new"
    return f"{(new - old) / old * 100:+.1f}%"


def targets(section: Mapping[str, Any], types: Iterable[str] | None, regions: Iterable[str] | None) -> list[tuple[str, str]]:
    """Returns the (type, region) pairs to refresh: the catalog's rows, filtered; --region adds missing regions."""
    types, regions = set(types or ()), list(regions or ())
    pairs = []
    for name, row in section.items():
        if types and name not in types:
            continue
        wanted = regions or list(row.get("prices") or {})
        pairs += [(name, region) for region in wanted]
    return pairs


def _merge_row(old: Mapping[str, Any] | None, live: LivePrice, today: datetime.date) -> dict[str, Any]:
    row = dict(old or {})
    row.update(on_demand=live.on_demand, source=live.source, as_of=today)
    if live.spot is not None:
        row.update(spot=live.spot, spot_source=live.spot_source, spot_as_of=today)
    return row


def _describe(cloud: Cloud, name: str, region: str, old: Mapping | None, new: Mapping) -> tuple[str, bool]:
    where = f"{cloud} {name} {region}"
    if old is None:
        spot = f", spot {new['spot']}" if new.get("spot") is not None else ""
        return f"{where}: added on_demand {new['on_demand']}{spot}", True
    parts = [f"{key} {old.get(key)} -> {new[key]} ({_pct(old.get(key), new[key])})"
             for key in ("on_demand", "spot") if new.get(key) is not None and new.get(key) != old.get(key)]
    return (f"{where}: " + "; ".join(parts), True) if parts else (f"{where}: unchanged", False)


def merge_cloud(raw: dict, cloud: Cloud, live: Mapping[tuple[str, str], LivePrice], pairs: list[tuple[str, str]],
                gpu_names: Iterable[str], today: datetime.date, result: RefreshResult) -> dict:
    """Returns a copy of one cloud file's data with live prices merged; appends diff lines to result.

    Raises:
        OpsError: a merged row fails catalog validation (every failing row listed, nothing written).
    """
    file, key = CLOUD_FILES[cloud]
    data = copy.deepcopy(raw)
    section = data[key]
    errors, touched = [], set()
    for name, region in pairs:
        prices = section[name].setdefault("prices", {})
        old, price = prices.get(region), live.get((name, region))
        if price is None or price.on_demand is None:
            if old is not None:  # kept as is: a row the API did not answer for is never dropped
                result.not_refreshed.append(f"{cloud} {name} {region}")
                result.lines.append(f"{cloud} {name} {region}: not refreshed (no price from the API; row kept)")
            continue
        prices[region] = _merge_row(old, price, today)
        line, changed = _describe(cloud, name, region, old, prices[region])
        result.lines.append(line)
        result.refreshed += 1
        result.changed += changed
        if old is None:
            result.added.append(f"{cloud} {name} {region}")
        touched.add(name)
    for name in sorted(touched):
        errors += [f"{file}: {key}[{name!r}]: {e}" for e in validate_instance_row(section[name], cloud, gpu_names)]
    if errors:
        raise OpsError("refusing to write invalid catalog rows:\n  " + "\n  ".join(errors))
    return data


def _header(path: Path, today: datetime.date) -> str:
    comments = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        comments.append(line)
    comments.append(f"# Prices last rewritten by scripts/refresh_catalog.py on {today.isoformat()} "
                    "(x- anchors expanded; each price row carries its own source and as_of).")
    return "\n".join(comments) + "\n"


def write_checked(files: Mapping[str, dict], data_dir: Path, today: datetime.date) -> list[str]:
    """Writes files into a scratch copy, loads it with load_catalog_from, then writes the real files.

    Raises:
        OpsError: the rewritten catalog does not load (nothing is written to data_dir).
    """
    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        for item in Path(data_dir).glob("*.yaml"):
            shutil.copy(item, scratch_dir / item.name)
        for name, data in files.items():
            dump_raw(name, data, scratch_dir)
        try:
            load_catalog_from(scratch_dir)
        except CatalogError as exc:
            raise OpsError(f"refusing to write: the refreshed catalog does not load: {exc}") from None
    written = []
    for name, data in files.items():
        header = _header(Path(data_dir) / name, today)
        path = dump_raw(name, data, Path(data_dir))
        path.write_text(header + path.read_text())
        written.append(str(path))
    return written


def refresh(fetchers: Mapping[str, Fetcher], types: Iterable[str] | None = None, regions: Iterable[str] | None = None,
            data_dir: Path = DATA_DIR, dry_run: bool = False, today: datetime.date | None = None) -> RefreshResult:
    """Refreshes the prices of every cloud in fetchers; writes unless dry_run. Returns the diff."""
    today = today or datetime.date.today()
    gpu_names = list(load_raw("gpus.yaml", data_dir)["gpus"])
    result, merged = RefreshResult(), {}
    types = list(types or [])
    raws = {cloud: load_raw(CLOUD_FILES[cloud][0], data_dir) for cloud in fetchers}
    known = {name for cloud, raw in raws.items() for name in raw[CLOUD_FILES[cloud][1]]}
    unknown = sorted(set(types) - known)
    if unknown:
        raise OpsError(f"--types: {', '.join(unknown)} not in the catalog of {', '.join(fetchers)} "
                       f"(known: {', '.join(sorted(known))})")
    for cloud, fetch in fetchers.items():
        file, key = CLOUD_FILES[cloud]
        raw = raws[cloud]
        cloud_types = [t for t in types if t in raw[key]] if types else None
        if types and not cloud_types:
            continue
        pairs = targets(raw[key], cloud_types, regions)
        merged[file] = merge_cloud(raw, cloud, fetch(pairs), pairs, gpu_names, today, result)
    result.lines.append(f"summary: {result.refreshed} refreshed ({result.changed} changed), {len(result.added)} "
                        f"added, {len(result.not_refreshed)} not refreshed" + ("; dry run, nothing written"
                                                                               if dry_run else ""))
    if not dry_run and merged:
        result.written = write_checked(merged, Path(data_dir), today)
    return result
