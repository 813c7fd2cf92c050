"""Catalog: the shipped data matches clouds.md, lookups behave, bad rows are rejected, staleness is reported."""

import datetime
import shutil

import pytest

from components.catalog import (
    DATA_DIR, CatalogError, load_catalog, load_catalog_from, load_raw, dump_raw, validate_price_row,
)

# clouds.md AWS table: type -> (GPU, GPUs, vCPU, RAM GiB, local NVMe GB, EFA, us-east-1 on-demand $/h)
AWS_CLOUDS_MD = {
    "g5.xlarge": ("A10G", 1, 4, 16, 250, 0, 1.006),
    "g5.12xlarge": ("A10G", 4, 48, 192, 3800, 1, 5.672),
    "g6.xlarge": ("L4", 1, 4, 16, 250, 0, 0.8048),
    "g6e.xlarge": ("L40S", 1, 4, 32, 250, 0, 1.861),
    "g6e.2xlarge": ("L40S", 1, 8, 64, 450, 0, 2.24208),
    "g6e.12xlarge": ("L40S", 4, 48, 384, 3800, 1, 10.49264),
    "g6e.48xlarge": ("L40S", 8, 192, 1536, 7600, 4, 30.13118),
    "p4d.24xlarge": ("A100-40GB", 8, 96, 1152, 8000, 4, 21.957642),
    "p4de.24xlarge": ("A100-80GB", 8, 96, 1152, 8000, 4, 27.44705),
    "p5.4xlarge": ("H100", 1, 16, 256, 3800, 1, 6.88),
    "p5.48xlarge": ("H100", 8, 192, 2048, 30400, 32, 55.04),
    "p5en.48xlarge": ("H200", 8, 192, 2048, 30400, 16, 63.296),
    "p6-b200.48xlarge": ("B200", 8, 192, 2048, 30400, 8, 113.9328),
}
# clouds.md GCP table: type -> (GPU, GPUs, accelerator, vCPU, RAM, local SSD mode, us-central1 on-demand, spot)
GCP_CLOUDS_MD = {
    "g2-standard-4": ("L4", 1, "nvidia-l4", 4, 16, "optional", 0.707, 0.397),
    "g2-standard-48": ("L4", 4, "nvidia-l4", 48, 192, "optional", 4.002, 2.250),
    "a2-highgpu-1g": ("A100-40GB", 1, "nvidia-tesla-a100", 12, 85, "optional", 3.673, 1.928),
    "a2-highgpu-8g": ("A100-40GB", 8, "nvidia-tesla-a100", 96, 680, "optional", 29.387, 15.424),
    "a2-ultragpu-8g": ("A100-80GB", 8, "nvidia-a100-80gb", 96, 1360, "bundled", 40.550, 22.076),
    "a3-highgpu-8g": ("H100", 8, "nvidia-h100-80gb", 208, 1872, "bundled", 88.490, 50.610),
}
# The models the toolkit promises to know, with config.json figures: layers, q heads, kv heads, head_dim.
MODELS = {
    "meta-llama/Llama-3.1-8B-Instruct": (32, 32, 8, 128),
    "meta-llama/Llama-3.1-8B": (32, 32, 8, 128),
    "meta-llama/Llama-3.1-70B-Instruct": (80, 64, 8, 128),
    "meta-llama/Llama-3.1-70B": (80, 64, 8, 128),
    "meta-llama/Llama-3.3-70B-Instruct": (80, 64, 8, 128),
    "meta-llama/Llama-3.1-405B-Instruct": (126, 128, 8, 128),
    "mistralai/Mistral-7B-Instruct-v0.3": (32, 32, 8, 128),
    "mistralai/Mixtral-8x7B-Instruct-v0.1": (32, 32, 8, 128),
    "Qwen/Qwen2.5-7B-Instruct": (28, 28, 4, 128),
    "Qwen/Qwen2.5-32B-Instruct": (64, 40, 8, 128),
    "Qwen/Qwen2.5-72B-Instruct": (80, 64, 8, 128),
    "google/gemma-2-9b-it": (42, 16, 8, 256),
    "google/gemma-2-27b-it": (46, 32, 16, 128),
    "deepseek-ai/DeepSeek-R1-Distill-Llama-70B": (80, 64, 8, 128),
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B": (64, 40, 8, 128),
}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.mark.parametrize("name", sorted(AWS_CLOUDS_MD))
def test_aws_types_match_clouds_md(catalog, name):
    gpu, count, vcpu, ram, nvme, efa, price = AWS_CLOUDS_MD[name]
    inst = catalog.instance("aws", name)
    assert (inst.gpu.name, inst.gpu_count, inst.vcpu, inst.ram_gib, inst.local_nvme_gb, inst.efa_interfaces) == (
        gpu, count, vcpu, ram, nvme, efa)
    assert inst.local_nvme_mode == "instance-store"
    assert inst.quota_family == ("P" if name.startswith("p") else "G")
    od = catalog.price("aws", name, "us-east-1")
    assert od.on_demand == pytest.approx(price)
    assert od.as_of == datetime.date(2026, 7, 20) and "Karpenter" in od.source


@pytest.mark.parametrize("name", sorted(GCP_CLOUDS_MD))
def test_gcp_types_match_clouds_md(catalog, name):
    gpu, count, accel, vcpu, ram, ssd_mode, on_demand, spot = GCP_CLOUDS_MD[name]
    inst = catalog.instance("gcp", name)
    assert (inst.gpu.name, inst.gpu_count, inst.accelerator, inst.quota_family) == (gpu, count, accel, accel)
    assert (inst.vcpu, inst.ram_gib, inst.local_nvme_mode) == (vcpu, ram, ssd_mode)
    price = catalog.price("gcp", name, "us-central1")
    assert (price.on_demand, price.spot) == (pytest.approx(on_demand), pytest.approx(spot))
    assert price.as_of == datetime.date(2026, 7, 30)


def test_gcp_bundled_local_ssd_and_other_regions(catalog):
    # clouds.md: A2 Ultra bundles 3000 GB, A3 6000 GB, 375 GB per disk; a3 other regions and commitments.
    assert catalog.instance("gcp", "a2-ultragpu-8g").local_nvme_gb == 3000
    assert catalog.instance("gcp", "a3-highgpu-8g").local_nvme_gb == 6000
    assert catalog.price("gcp", "a3-highgpu-8g", "europe-west4").on_demand == pytest.approx(112.540)
    assert catalog.price("gcp", "a3-highgpu-8g", "us-east4").spot == pytest.approx(36.321)
    central = catalog.price("gcp", "a3-highgpu-8g", "us-central1")
    assert (central.committed_1y, central.committed_3y) == (pytest.approx(61.38), pytest.approx(38.86))
    assert catalog.local_ssd_usd_per_gib_month == pytest.approx(0.08)


def test_usable_vram_per_gpu_is_the_cuda_total(catalog):
    # What vLLM multiplies by gpu_memory_utilization: PyTorch reports "a total capacity of 79.11 GiB" on an H100
    # (github.com/vllm-project/vllm/issues/27508), below nvidia-smi's 81,559 MiB (79.65 GiB).
    assert catalog.instance("aws", "p5.48xlarge").vram_gib_per_gpu == pytest.approx(79.11, abs=0.005)
    # L4: nvidia-smi shows 23,034 MiB (github.com/vllm-project/vllm/issues/4959); CUDA keeps a little of it.
    assert catalog.gpu("L4").usable_vram_mib < 23034
    assert all(g.source.strip() and g.as_of for g in catalog.gpus.values())
    assert catalog.gpu("A10G").fp8 is False and catalog.gpu("L4").fp8 is True


def test_every_price_is_positive_dated_and_spot_not_above_on_demand(catalog):
    for (cloud, name), by_region in catalog.prices.items():
        for region, price in by_region.items():
            assert price.on_demand > 0 and price.source and price.as_of, (cloud, name, region)
            if price.spot is not None:
                assert price.spot <= price.on_demand and price.spot_as_of and price.spot_source
            assert price.capacity_block is None or price.capacity_block_as_of is not None


def test_capacity_block_and_spot_samples_carry_their_dates(catalog):
    p5 = catalog.price("aws", "p5.48xlarge", "us-east-1")
    assert p5.capacity_block == pytest.approx(39.33) and p5.capacity_block_as_of.year == 2024
    assert catalog.price("aws", "p5en.48xlarge", "us-west-2").spot_as_of == datetime.date(2026, 3, 25)
    assert catalog.price("aws", "p5.4xlarge", "us-east-1").spot is None  # no upstream sample: none invented


def test_lookups(catalog):
    assert catalog.instance("aws", "a3-highgpu-8g") is None  # a GCP name is not an AWS type
    assert catalog.price("aws", "g6e.12xlarge", "eu-west-1") is None  # not offered there upstream: no price
    assert catalog.regions("gcp", "a3-highgpu-8g") == ["europe-west4", "us-central1", "us-east1", "us-east4", "us-west1"]
    assert catalog.regions("aws", "nope.xlarge") == []
    names = catalog.instance_names("aws")
    assert names == sorted(names) and set(AWS_CLOUDS_MD) <= set(names)
    assert catalog.model("nope/nope") is None
    with pytest.raises(KeyError, match="H100"):
        catalog.gpu("H10O")
    assert catalog.close_matches("g6e.xlarg", names)[0] == "g6e.xlarge"


@pytest.mark.parametrize("repo", sorted(MODELS))
def test_models_carry_config_json_figures(catalog, repo):
    arch = catalog.model(repo)
    assert (arch.layers, arch.attention_heads, arch.kv_heads, arch.head_dim) == MODELS[repo]
    assert arch.params > 1e9 and arch.max_context >= 8192 and arch.source


def test_model_ids_sorted_and_complete(catalog):
    ids = catalog.model_ids()
    assert ids == sorted(ids) and set(MODELS) <= set(ids)


def test_throughput_refs_are_dated_references(catalog):
    refs = catalog.throughput_refs()
    assert {(r.gpu, r.size_class, r.dtype, r.gpus) for r in refs} >= {("H100", "8B", "fp8", 1),
                                                                       ("H100", "70B", "fp8", 2)}
    assert all(r.output_tok_s > 0 and r.as_of.year >= 2024 for r in refs)


def test_as_of_is_the_oldest_on_demand_date(catalog):
    dates = {p.as_of for by_region in catalog.prices.values() for p in by_region.values()}
    assert catalog.as_of == min(dates)


def test_stale_warnings_one_line_per_cloud_and_date(catalog):
    assert catalog.stale_warnings(catalog.as_of, 90) == []
    lines = catalog.stale_warnings(datetime.date(2026, 11, 27), 90)
    aws_july = [line for line in lines if "aws from 2026-07-20" in line]
    assert len(aws_july) == 1 and "130 days old (limit 90" in aws_july[0]
    assert "scripts/refresh_catalog.py" in aws_july[0]
    assert any("gcp from 2026-07-30 is 120 days old" in line for line in lines)
    # The oldest rows: GCP 2025-03-06 (Cyclenerd pricing.yml export, test_region_coverage.py).
    assert catalog.stale_warnings(datetime.date(2026, 11, 27), 700) == []


# ---- bad data through load_catalog_from ----

@pytest.fixture
def data_copy(tmp_path):
    shutil.copytree(DATA_DIR, tmp_path, dirs_exist_ok=True)
    return tmp_path


def _mutate(data_dir, file, change):
    raw = load_raw(file, data_dir)
    change(raw)
    dump_raw(file, raw, data_dir)


def test_shipped_data_round_trips_through_dump_raw(data_copy):
    for file in ("gpus.yaml", "aws_instances.yaml", "gcp_machines.yaml", "models.yaml", "throughput.yaml"):
        _mutate(data_copy, file, lambda raw: None)
    reloaded = load_catalog_from(data_copy)
    assert reloaded.prices == load_catalog().prices and reloaded.models == load_catalog().models


@pytest.mark.parametrize("file, change, message", [
    # spot above on-demand is a data error (spot is never dearer than on-demand)
    ("aws_instances.yaml", lambda r: r["instances"]["g5.xlarge"]["prices"]["us-east-1"].update(spot=2.0),
     r"aws_instances.yaml: instances\['g5.xlarge'\]: prices.us-east-1.spot: 2.0 exceeds on_demand 1.006"),
    # a zero price would make the cheapest choice free
    ("gcp_machines.yaml", lambda r: r["machines"]["g2-standard-4"]["prices"]["us-east4"].update(on_demand=0),
     r"machines\['g2-standard-4'\]: prices.us-east4.on_demand: 0 must be a number > 0"),
    # an instance pointing at a GPU the catalog does not know
    ("aws_instances.yaml", lambda r: r["instances"]["p5.4xlarge"].update(gpu="H1000"),
     r"instances\['p5.4xlarge'\]: gpu: 'H1000' is not a known GPU model"),
    # VRAM must be positive
    ("gpus.yaml", lambda r: r["gpus"]["L4"].update(usable_vram_mib=0),
     r"gpus.yaml: gpus\['L4'\]: usable_vram_mib: 0 must be an integer >= 1"),
    # an undated price cannot be checked for staleness
    ("aws_instances.yaml", lambda r: r["instances"]["g6.xlarge"]["prices"]["us-east-1"].update(as_of="July"),
     r"prices.us-east-1.as_of: 'July' is not a date"),
    # TP arithmetic needs positive integer head counts
    ("models.yaml", lambda r: r["models"]["google/gemma-2-9b-it"].update(kv_heads=0),
     r"models\['google/gemma-2-9b-it'\]: kv_heads: 0 must be an integer >= 1"),
    # gpu_count 0 would divide by zero in every per-GPU figure
    ("gcp_machines.yaml", lambda r: r["machines"]["a3-highgpu-8g"].update(gpu_count=0),
     r"machines\['a3-highgpu-8g'\]: gpu_count: 0 must be an integer >= 1"),
])
def test_bad_rows_are_rejected_naming_file_row_and_field(data_copy, file, change, message):
    _mutate(data_copy, file, change)
    with pytest.raises(CatalogError, match=message):
        load_catalog_from(data_copy)


def test_validate_price_row_is_usable_by_the_refresh_script():
    good = {"on_demand": 1.0, "source": "AWS Pricing API", "as_of": "2026-11-01"}
    assert validate_price_row(good) == []
    errors = validate_price_row({**good, "spot": 1.5, "committed_1y": -1, "typo": 1})
    assert "typo: unknown field" in errors[0]
    assert any(e.startswith("spot: 1.5 exceeds on_demand") for e in errors)
    assert any(e.startswith("spot_source:") for e in errors)  # a spot sample must say where it is from
    assert any(e.startswith("committed_1y: -1 must be a number > 0") for e in errors)
