"""GPU instance, price and model catalog: YAML data under data/ with a validating, typed loader."""

from components.catalog.catalog import PRICE_MAX_AGE_DAYS, Catalog, close_matches
from components.catalog.load import DATA_DIR, dump_raw, load_catalog, load_catalog_from, load_raw
from components.catalog.types import (
    CLOUDS, CatalogError, Cloud, GpuModel, InstanceType, LocalNvmeMode, ModelArch, Price, ThroughputRef,
)
from components.catalog.vocab import AWS, BUCKET_SCHEME, GCP, TAINT_EFFECT_API, bucket_url
from components.catalog.validate import (
    WEIGHT_DTYPES, parse_date, validate_gpu_row, validate_instance_row, validate_model_row, validate_price_row,
    validate_throughput_row,
)

__all__ = [
    "PRICE_MAX_AGE_DAYS", "AWS", "GCP", "BUCKET_SCHEME", "TAINT_EFFECT_API", "bucket_url",
    "CLOUDS", "DATA_DIR", "WEIGHT_DTYPES", "Catalog", "CatalogError", "Cloud", "GpuModel", "InstanceType",
    "LocalNvmeMode", "ModelArch", "Price", "ThroughputRef", "close_matches", "dump_raw", "load_catalog",
    "load_catalog_from", "load_raw", "parse_date", "validate_gpu_row", "validate_instance_row",
    "validate_model_row", "validate_price_row", "validate_throughput_row",
]
