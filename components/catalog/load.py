"""Reads the catalog YAML files, validates every row and builds the typed Catalog."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from components.catalog.catalog import Catalog
from components.catalog.types import CatalogError, Cloud, GpuModel, InstanceType, ModelArch, Price, ThroughputRef
from components.catalog.validate import (
    MODEL_SIZE_FIELDS, parse_date, validate_gpu_row, validate_instance_row, validate_model_row,
    validate_throughput_row,
)
from components.catalog.vocab import AWS, CLOUDS, GCP

DATA_DIR = Path(__file__).resolve().parent / "data"
CLOUD_FILES: dict[str, tuple[str, str]] = {"aws": ("aws_instances.yaml", "instances"),
                                           "gcp": ("gcp_machines.yaml", "machines")}


def load_raw(name: str, data_dir: Path = DATA_DIR) -> dict[str, Any]:
    """Reads one catalog YAML file (e.g. "aws_instances.yaml") as plain data, anchors expanded.

    Raises:
        CatalogError: missing file or not a YAML mapping.
    """
    path = Path(data_dir) / name
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{name}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{name}: top level must be a mapping")
    return data


def dump_raw(name: str, data: Mapping[str, Any], data_dir: Path = DATA_DIR) -> Path:
    """Writes one catalog file back (plain YAML; header comments and anchors are not preserved).

    Validate rows with the validate_* functions (or load_catalog_from on a copy) before calling this.
    """
    path = Path(data_dir) / name
    body = {k: v for k, v in data.items() if not str(k).startswith("x-")}
    path.write_text(yaml.safe_dump(body, sort_keys=False, default_flow_style=False, width=120))
    return path


def _section(data: Mapping, key: str, file: str) -> Mapping[str, Any]:
    section = data.get(key)
    if not isinstance(section, Mapping):
        raise CatalogError(f"{file}: missing mapping {key!r}")
    for row_name, row in section.items():
        if not isinstance(row, Mapping):
            raise CatalogError(f"{file}: {key}[{row_name!r}]: must be a mapping")
    return section


def _raise_if(errors: list[str], file: str, where: str) -> None:
    if errors:
        raise CatalogError(f"{file}: {where}: " + "; ".join(errors))


def _price(row: Mapping[str, Any]) -> Price:
    dates = {k: parse_date(row[k]) for k in ("spot_as_of", "capacity_block_as_of") if row.get(k) is not None}
    return Price(
        on_demand=float(row["on_demand"]), source=row["source"], as_of=parse_date(row["as_of"]),
        spot=row.get("spot"), spot_source=row.get("spot_source"), spot_as_of=dates.get("spot_as_of"),
        capacity_block=row.get("capacity_block"), capacity_block_source=row.get("capacity_block_source"),
        capacity_block_as_of=dates.get("capacity_block_as_of"),
        committed_1y=row.get("committed_1y"), committed_3y=row.get("committed_3y"),
    )


def _instance(cloud: Cloud, name: str, row: Mapping[str, Any], gpus: Mapping[str, GpuModel]) -> InstanceType:
    gpu = gpus[row["gpu"]]
    if cloud == AWS:
        disks, per_disk = row["local_nvme"]["disks"], row["local_nvme"]["gb_per_disk"]
        mode, efa, quota, accelerator = "instance-store", row["efa_interfaces"], row["quota_family"], None
    else:
        ssd = row["local_ssd"]
        disks, per_disk, mode = ssd["count"], ssd["gb_per_disk"], ssd["mode"]
        efa, quota, accelerator = 0, row["accelerator"], row["accelerator"]
    return InstanceType(
        cloud=cloud, name=name, gpu=gpu, gpu_count=row["gpu_count"], vcpu=row["vcpu"],
        ram_gib=float(row["ram_gib"]), local_nvme_disks=disks, local_nvme_gb_per_disk=per_disk,
        local_nvme_mode=mode, efa_interfaces=efa, quota_family=quota, accelerator=accelerator,
        network_gbps=row.get("network_gbps"), spec_source=row["spec_source"],
        gvnic_required=bool(row.get("gvnic_required", False)),
    )


def _load_gpus(data_dir: Path) -> dict[str, GpuModel]:
    file = "gpus.yaml"
    gpus = {}
    for name, row in _section(load_raw(file, data_dir), "gpus", file).items():
        _raise_if(validate_gpu_row(row), file, f"gpus[{name!r}]")
        gpus[name] = GpuModel(name=name, usable_vram_mib=row["usable_vram_mib"], fp8=row["fp8"],
                              architecture=row.get("architecture", ""), gcp_accelerator=row.get("gcp_accelerator"),
                              source=row["source"], as_of=parse_date(row["as_of"]))
    return gpus


def _load_cloud(cloud: Cloud, data_dir: Path, gpus: Mapping[str, GpuModel]):
    file, key = CLOUD_FILES[cloud]
    raw = load_raw(file, data_dir)
    instances, prices = {}, {}
    for name, row in _section(raw, key, file).items():
        where = f"{key}[{name!r}]"
        _raise_if(validate_instance_row(row, cloud, gpus), file, where)
        if cloud == GCP and gpus[row["gpu"]].gcp_accelerator != row["accelerator"]:
            _raise_if([f"accelerator: {row['accelerator']!r} does not match GPU {row['gpu']} "
                       f"({gpus[row['gpu']].gcp_accelerator!r} in gpus.yaml)"], file, where)
        instances[(cloud, name)] = _instance(cloud, name, row, gpus)
        prices[(cloud, name)] = {region: _price(p) for region, p in row["prices"].items()}
    return raw, instances, prices


def _load_models(data_dir: Path) -> dict[str, ModelArch]:
    file = "models.yaml"
    models = {}
    for repo, row in _section(load_raw(file, data_dir), "models", file).items():
        _raise_if(validate_model_row(row), file, f"models[{repo!r}]")
        models[repo] = ModelArch(
            hf_repo=repo, params=float(row["params"]), layers=row["layers"],
            attention_heads=row["attention_heads"], kv_heads=row["kv_heads"], head_dim=row["head_dim"],
            max_context=row["max_context"], size_class=row.get("size_class"), source=row["source"],
            as_of=parse_date(row["as_of"]), tie_word_embeddings=row.get("tie_word_embeddings", False),
            checkpoint_dtype=row.get("checkpoint_dtype"), checkpoint_gib=row.get("checkpoint_gib"),
            **{key: row[key] for key in MODEL_SIZE_FIELDS if key in row})
    return models


def _load_throughput(data_dir: Path, gpus: Mapping[str, GpuModel]) -> tuple[ThroughputRef, ...]:
    file = "throughput.yaml"
    rows = load_raw(file, data_dir).get("references")
    if not isinstance(rows, list):
        raise CatalogError(f"{file}: missing list 'references'")
    refs = []
    for index, row in enumerate(rows):
        _raise_if(validate_throughput_row(row, gpus), file, f"references[{index}]")
        refs.append(ThroughputRef(**{**row, "as_of": parse_date(row["as_of"]),
                                     "output_tok_s": float(row["output_tok_s"])}))
    return tuple(refs)


def load_catalog_from(data_dir: Path | str) -> Catalog:
    """Loads and validates a catalog from a directory holding the five YAML files (tests use bad copies).

    Raises:
        CatalogError: the first invalid row, naming file, row, field and reason.
    """
    data_dir = Path(data_dir)
    gpus = _load_gpus(data_dir)
    instances, prices = {}, {}
    ssd: Mapping[str, Any] = {}
    for cloud in CLOUDS:
        raw, cloud_instances, cloud_prices = _load_cloud(cloud, data_dir, gpus)
        instances.update(cloud_instances)
        prices.update(cloud_prices)
        if cloud == GCP:
            ssd = raw.get("local_ssd") or {}
    ssd_price = ssd.get("usd_per_gib_month")
    if not isinstance(ssd_price, (int, float)) or isinstance(ssd_price, bool) or ssd_price <= 0:
        raise CatalogError(f"gcp_machines.yaml: local_ssd.usd_per_gib_month: {ssd_price!r} must be a number > 0")
    return Catalog(gpus=gpus, instances=instances, prices=prices, models=_load_models(data_dir),
                   throughput=_load_throughput(data_dir, gpus), local_ssd_usd_per_gib_month=float(ssd_price),
                   local_ssd_source=f"{ssd.get('source', '')} ({ssd.get('as_of', '')})")


@functools.lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """Loads the catalog shipped in components/catalog/data (cached; the data is immutable)."""
    return load_catalog_from(DATA_DIR)
