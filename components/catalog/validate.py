"""Row validators for the catalog YAML, shared by the loader and the refresh script.

Each validator takes one raw row (a dict as read from YAML) and returns a list of "field: reason" strings,
empty when the row is valid. The loader prefixes file and row; scripts/refresh_catalog.py validates candidate
rows with the same functions before writing them.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from typing import Any

from components.catalog.vocab import AWS, Cloud

WEIGHT_DTYPES = ("bf16", "fp16", "fp8", "int8", "int4")
AWS_QUOTA_FAMILIES = ("G", "P")
GCP_LOCAL_SSD_MODES = ("bundled", "optional", "none")

_PRICE_FIELDS = {
    "on_demand", "source", "as_of", "spot", "spot_source", "spot_as_of", "capacity_block",
    "capacity_block_source", "capacity_block_as_of", "committed_1y", "committed_3y",
}
_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def parse_date(value: Any) -> datetime.date | None:
    """Parses YYYY, YYYY-MM or YYYY-MM-DD (a partial date means its first day); None when unparseable."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value)
    if isinstance(value, bool) or not _DATE_RE.match(text):
        return None
    parts = [int(p) for p in text.split("-")] + [1, 1]
    try:
        return datetime.date(parts[0], parts[1], parts[2])
    except ValueError:
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _positive_int(row: Mapping, key: str, errors: list[str], minimum: int = 1) -> None:
    if not _is_int(row.get(key)) or row[key] < minimum:
        errors.append(f"{key}: {row.get(key)!r} must be an integer >= {minimum}")


def _positive_num(row: Mapping, key: str, errors: list[str], optional: bool = False) -> None:
    value = row.get(key)
    if value is None and optional:
        return
    if not _is_num(value) or value <= 0:
        errors.append(f"{key}: {value!r} must be a number > 0")


def _text(row: Mapping, key: str, errors: list[str]) -> None:
    if not isinstance(row.get(key), str) or not row[key].strip():
        errors.append(f"{key}: {row.get(key)!r} must be a non-empty string")


def _date(row: Mapping, key: str, errors: list[str]) -> None:
    if parse_date(row.get(key)) is None:
        errors.append(f"{key}: {row.get(key)!r} is not a date (YYYY-MM-DD, YYYY-MM or YYYY)")


def _unknown_keys(row: Mapping, allowed: Iterable[str], errors: list[str]) -> None:
    allowed = set(allowed)
    errors.extend(f"{key}: unknown field (allowed: {', '.join(sorted(allowed))})"
                  for key in row if key not in allowed)


def validate_price_row(row: Mapping[str, Any]) -> list[str]:
    """Validates one region's price row: positive prices, spot and commitments <= on-demand, dated sources."""
    if not isinstance(row, Mapping):
        return [f"<row>: {row!r} must be a mapping"]
    errors: list[str] = []
    _unknown_keys(row, _PRICE_FIELDS, errors)
    _positive_num(row, "on_demand", errors)
    _text(row, "source", errors)
    _date(row, "as_of", errors)
    on_demand = row.get("on_demand") if _is_num(row.get("on_demand")) else None
    for key, extra in (("spot", ("spot_source", "spot_as_of")),
                       ("capacity_block", ("capacity_block_source", "capacity_block_as_of"))):
        if row.get(key) is None:
            continue
        _positive_num(row, key, errors)
        _text(row, extra[0], errors)
        _date(row, extra[1], errors)
    for key in ("spot", "committed_1y", "committed_3y"):
        _positive_num(row, key, errors, optional=True)
        value = row.get(key)
        if on_demand and _is_num(value) and value > on_demand:
            errors.append(f"{key}: {value} exceeds on_demand {on_demand} (must be <= on-demand)")
    return errors


def validate_gpu_row(row: Mapping[str, Any]) -> list[str]:
    """Validates one GPU model row."""
    errors: list[str] = []
    _unknown_keys(row, ("architecture", "usable_vram_mib", "fp8", "gcp_accelerator", "source", "as_of"), errors)
    _positive_int(row, "usable_vram_mib", errors)
    if not isinstance(row.get("fp8"), bool):
        errors.append(f"fp8: {row.get('fp8')!r} must be true or false")
    _text(row, "source", errors)
    _date(row, "as_of", errors)
    return errors


def validate_instance_row(row: Mapping[str, Any], cloud: Cloud, gpu_names: Iterable[str]) -> list[str]:
    """Validates one instance/machine row (specs; each price row via validate_price_row).

    Args:
        row: The raw row.
        cloud: "aws" or "gcp" (the fields differ: local_nvme/efa vs local_ssd/accelerator).
        gpu_names: Known GPU model names.
    """
    errors: list[str] = []
    common = ("gpu", "gpu_count", "vcpu", "ram_gib", "spec_source", "prices", "network_gbps")
    specific = ("local_nvme", "efa_interfaces", "quota_family") if cloud == AWS else ("local_ssd", "accelerator",
                                                                                          "gvnic_required")
    _unknown_keys(row, common + specific, errors)
    gpu_names = sorted(gpu_names)
    if row.get("gpu") not in gpu_names:
        errors.append(f"gpu: {row.get('gpu')!r} is not a known GPU model (known: {', '.join(gpu_names)})")
    _positive_int(row, "gpu_count", errors)
    _positive_int(row, "vcpu", errors)
    _positive_num(row, "ram_gib", errors)
    _positive_num(row, "network_gbps", errors, optional=True)
    _text(row, "spec_source", errors)
    if cloud == AWS:
        disks = row.get("local_nvme") or {}
        _positive_int(disks, "disks", errors, minimum=0)
        _positive_int(disks, "gb_per_disk", errors, minimum=0)
        _positive_int(row, "efa_interfaces", errors, minimum=0)
        if row.get("quota_family") not in AWS_QUOTA_FAMILIES:
            errors.append(f"quota_family: {row.get('quota_family')!r} must be one of {AWS_QUOTA_FAMILIES}")
    else:
        ssd = row.get("local_ssd") or {}
        if ssd.get("mode") not in GCP_LOCAL_SSD_MODES:
            errors.append(f"local_ssd.mode: {ssd.get('mode')!r} must be one of {GCP_LOCAL_SSD_MODES}")
        _positive_int(ssd, "count", errors, minimum=0)
        _positive_int(ssd, "gb_per_disk", errors, minimum=0)
        _text(row, "accelerator", errors)
        if not isinstance(row.get("gvnic_required", False), bool):
            errors.append(f"gvnic_required: {row.get('gvnic_required')!r} must be true or false")
    prices = row.get("prices")
    if not isinstance(prices, Mapping):
        errors.append(f"prices: {prices!r} must be a mapping of region to price row")
        return errors
    for region, price in prices.items():
        errors.extend(f"prices.{region}.{e}" for e in validate_price_row(price))
    return errors


MODEL_SIZE_FIELDS = ("hidden_size", "intermediate_size", "vocab_size", "experts", "experts_per_token")


def _checkpoint(row: Mapping[str, Any], errors: list[str]) -> None:
    """A checkpoint size needs its dtype and a source (it is a published fact, not an estimate)."""
    if "checkpoint_gib" not in row and "checkpoint_dtype" not in row:
        return
    _positive_num(row, "checkpoint_gib", errors)
    if row.get("checkpoint_dtype") not in WEIGHT_DTYPES:
        errors.append(f"checkpoint_dtype: {row.get('checkpoint_dtype')!r} must be one of {WEIGHT_DTYPES}")
    _text(row, "checkpoint_source", errors)


def validate_model_row(row: Mapping[str, Any]) -> list[str]:
    """Validates one model architecture row (TP-relevant fields must be positive integers)."""
    errors: list[str] = []
    fields = ("params", "layers", "attention_heads", "kv_heads", "head_dim", "max_context", "size_class",
              "source", "as_of", *MODEL_SIZE_FIELDS, "tie_word_embeddings", "checkpoint_dtype", "checkpoint_gib",
              "checkpoint_source")
    _unknown_keys(row, fields, errors)
    _positive_num(row, "params", errors)
    for key in ("layers", "attention_heads", "kv_heads", "head_dim", "max_context"):
        _positive_int(row, key, errors)
    for key in MODEL_SIZE_FIELDS:
        if key in row:
            _positive_int(row, key, errors)
    if "tie_word_embeddings" in row and not isinstance(row["tie_word_embeddings"], bool):
        errors.append(f"tie_word_embeddings: {row['tie_word_embeddings']!r} must be true or false")
    _checkpoint(row, errors)
    heads, kv = row.get("attention_heads"), row.get("kv_heads")
    if _is_int(heads) and _is_int(kv) and kv > 0 and heads % kv:
        errors.append(f"kv_heads: {kv} must divide attention_heads {heads} (grouped-query attention)")
    _text(row, "source", errors)
    _date(row, "as_of", errors)
    return errors


def validate_throughput_row(row: Mapping[str, Any], gpu_names: Iterable[str]) -> list[str]:
    """Validates one throughput reference row."""
    errors: list[str] = []
    for key in ("model", "size_class", "engine", "scenario", "source"):
        _text(row, key, errors)
    if row.get("gpu") not in set(gpu_names):
        errors.append(f"gpu: {row.get('gpu')!r} is not a known GPU model")
    if row.get("dtype") not in WEIGHT_DTYPES:
        errors.append(f"dtype: {row.get('dtype')!r} must be one of {WEIGHT_DTYPES}")
    _positive_int(row, "gpus", errors)
    _positive_num(row, "output_tok_s", errors)
    _date(row, "as_of", errors)
    return errors
