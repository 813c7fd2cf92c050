"""Candidates, choice and vLLM engine arguments derived from the fit."""

import pytest

from components.catalog import load_catalog
from components.plan.candidates import TP_SIZES, candidates, choose, usd_per_mtok
from components.plan.engine_args import engine_args, max_num_seqs
from components.plan.fit import fit, fit_on_gpus

CATALOG = load_catalog()
LLAMA_8B = CATALOG.model("meta-llama/Llama-3.1-8B-Instruct")
LLAMA_70B = CATALOG.model("meta-llama/Llama-3.3-70B-Instruct")
SIZING = dict(dtype="fp8", kv_cache_dtype="auto", max_model_len=8192, concurrency=16)


def test_every_type_and_power_of_two_tp_is_listed_feasible_first_then_by_price():
    rows = candidates(LLAMA_70B, CATALOG, **SIZING)
    listed = {(c.cloud, c.instance_type, c.fit.tp) for c in rows}
    expected = {(cloud, name, tp) for cloud in ("aws", "gcp") for name in CATALOG.instance_names(cloud)
                for tp in TP_SIZES if tp <= CATALOG.instance(cloud, name).gpu_count}
    assert listed == expected
    fits = [c.fits for c in rows]
    assert fits == sorted(fits, reverse=True)  # feasible rows first
    prices = [c.hourly_usd for c in rows if c.fits]
    assert prices == sorted(prices)
    assert all(c.fit.reason for c in rows if not c.fits)


def test_choose_is_the_cheapest_feasible_priced_row():
    best = choose(LLAMA_70B, CATALOG, cloud="aws", region="us-east-1", **SIZING)
    feasible = [c for c in candidates(LLAMA_70B, CATALOG, cloud="aws", region="us-east-1", **SIZING) if c.fits]
    assert best == feasible[0] and best.hourly_usd == min(c.hourly_usd for c in feasible)
    # 70B fp8 with 16 sequences of 8k: 4x L40S at TP4 is the cheapest AWS node that holds it (clouds.md prices)
    assert (best.instance_type, best.fit.tp, best.hourly_usd) == ("g6e.12xlarge", 4, pytest.approx(10.49264))


def test_nothing_fits_gives_no_choice():
    huge = CATALOG.model("meta-llama/Llama-3.1-405B-Instruct")
    assert choose(huge, CATALOG, cloud="gcp", dtype="bf16", max_model_len=8192, concurrency=1) is None


def test_region_filter_prices_in_that_region_only():
    rows = candidates(LLAMA_8B, CATALOG, region="europe-west4", **SIZING)
    # europe-west4 prices A2 (Cloud Billing export 2025-03-06) and A3 rows; nothing else is offered there.
    assert {c.instance_type for c in rows} == {"a2-highgpu-1g", "a2-highgpu-8g", "a2-ultragpu-8g", "a3-highgpu-8g"}
    assert all(c.region == "europe-west4" for c in rows)
    assert all(c.hourly_usd == pytest.approx(CATALOG.price("gcp", c.instance_type, "europe-west4").on_demand)
               for c in rows)
    assert all(c.hourly_usd == pytest.approx(112.540) for c in rows if c.instance_type == "a3-highgpu-8g")


def test_without_region_each_type_is_priced_in_its_cheapest_region():
    rows = candidates(LLAMA_8B, CATALOG, instance_types=["g2-standard-4"], **SIZING)
    assert {(c.region, c.hourly_usd) for c in rows} == {("us-east4", 0.705)}  # 0.705 < 0.707 in us-central1


def test_usd_per_mtok_only_from_a_matching_reference():
    rows = candidates(LLAMA_8B, CATALOG, cloud="aws", region="us-east-1", instance_types=["p5.4xlarge"], **SIZING)
    (row,) = rows
    # TensorRT-LLM Llama-3.1-8B fp8 on 1x H100: 15,220 tok/s; $6.88/h / (15,220 x 3600 / 1e6)
    assert row.usd_per_mtok == pytest.approx(6.88 / (15220 * 3600 / 1e6))
    assert usd_per_mtok(6.88, 15220) == pytest.approx(0.12557, rel=1e-3)
    bf16 = candidates(LLAMA_8B, CATALOG, instance_types=["p5.4xlarge"], dtype="bf16", max_model_len=8192,
                      concurrency=1)
    assert bf16[0].usd_per_mtok is None  # no bf16 8B reference on H100: no invented figure


def test_unknown_instance_type_is_refused_with_a_close_match():
    with pytest.raises(ValueError, match="g6e.xlargee.*g6e.xlarge"):
        candidates(LLAMA_8B, CATALOG, instance_types=["g6e.xlargee"], **SIZING)


# ---- engine arguments ----

def test_engine_args_for_fp8_tp2():
    result = fit_on_gpus(LLAMA_70B, CATALOG.gpu("H100"), 2, 2, dtype="fp8", max_model_len=8192, concurrency=16)
    assert engine_args(LLAMA_70B, result, served_model_name="llama-70b").argv() == [
        "--model", "meta-llama/Llama-3.3-70B-Instruct",
        "--served-model-name", "llama-70b",
        "--tensor-parallel-size", "2",
        "--max-model-len", "8192",
        "--gpu-memory-utilization", "0.9",
        "--max-num-seqs", "27",  # 226,688 KV tokens / 8192 = 27 full-length sequences
        "--quantization", "fp8",
        "--enable-prefix-caching",
    ]


def test_engine_args_bf16_with_fp8_kv_cache():
    result = fit(LLAMA_8B, CATALOG.instance("aws", "g6e.xlarge"), 1, dtype="bf16", kv_cache_dtype="fp8",
                 max_model_len=4096, concurrency=8)
    args = engine_args("meta-llama/Llama-3.1-8B-Instruct", result, enable_prefix_caching=False).argv()
    assert args[args.index("--dtype") + 1] == "bfloat16"
    assert args[args.index("--kv-cache-dtype") + 1] == "fp8"
    assert "--quantization" not in args and "--enable-prefix-caching" not in args
    assert args[args.index("--served-model-name") + 1] == "meta-llama/Llama-3.1-8B-Instruct"


def test_int4_emits_no_guessed_quantization_unless_overridden():
    # TP 2 on 2 of the 4 L40S: 70B int4 weights with 16-bit embeddings (37 GiB) leave less than one 4096-token
    # sequence on a single 44.42 GiB L40S at utilisation 0.90.
    result = fit(LLAMA_70B, CATALOG.instance("aws", "g6e.12xlarge"), 2, dtype="int4", max_model_len=4096,
                 concurrency=1)
    assert result.fits
    assert "--quantization" not in engine_args(LLAMA_70B, result).argv()
    args = engine_args(LLAMA_70B, result, quantization="awq").argv()
    assert args[args.index("--quantization") + 1] == "awq"


def test_engine_args_change_by_field_never_by_position():
    """Kubernetes points ``model`` at the cache and the router adds ``auto``: each a field, rendered once."""
    result = fit_on_gpus(LLAMA_70B, CATALOG.gpu("H100"), 2, 2, dtype="fp8", max_model_len=8192, concurrency=16)
    sized = engine_args(LLAMA_70B, result, served_model_name="llama-70b")
    served = sized.with_(model="/mnt/nvme/models/llama-70b/abc", served_model_names=("llama-70b", "auto"),
                         port=8000, shutdown_timeout=30)
    argv = served.argv()
    assert argv[:2] == ["--model", "/mnt/nvme/models/llama-70b/abc"]
    i = argv.index("--served-model-name")
    assert argv[i + 1:i + 3] == ["llama-70b", "auto"] and argv[i + 3].startswith("--")
    assert argv[-4:] == ["--port", "8000", "--shutdown-timeout", "30"]
    assert sized.argv().count("--model") == 1 and "--port" not in sized.argv()  # the sized value is unchanged


def test_max_num_seqs_capped_but_never_below_the_target():
    roomy = fit(LLAMA_8B, CATALOG.instance("aws", "p5en.48xlarge"), 1, dtype="fp8", max_model_len=1024,
                concurrency=8)
    assert roomy.max_concurrency > 256 and max_num_seqs(roomy) == 256
    busy = fit(LLAMA_8B, CATALOG.instance("aws", "p5en.48xlarge"), 1, dtype="fp8", max_model_len=1024,
               concurrency=300)
    assert max_num_seqs(busy) == 300


def test_engine_args_refuse_what_does_not_fit_or_contradicts_the_fit():
    tight = fit_on_gpus(LLAMA_70B, CATALOG.gpu("H100"), 2, 2, dtype="bf16", max_model_len=8192, concurrency=16)
    with pytest.raises(ValueError, match="does not fit: KV capacity 18k"):
        engine_args(LLAMA_70B, tight)
    ok = fit_on_gpus(LLAMA_70B, CATALOG.gpu("H100"), 4, 4, dtype="bf16", max_model_len=8192, concurrency=16)
    with pytest.raises(ValueError, match="dtype 'fp8' differs"):
        engine_args(LLAMA_70B, ok, dtype="fp8")
