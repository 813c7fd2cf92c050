"""scripts/size.py run as a user runs it: a subprocess from the repo root (and from elsewhere)."""

import json
import subprocess
import sys
from pathlib import Path

from components.catalog import load_catalog
from components.plan.fit import fit

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "size.py"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_json_rows_for_llama_8b_fp8_on_aws(tmp_path):
    proc = run("--model", "meta-llama/Llama-3.1-8B-Instruct", "--dtype", "fp8", "--cloud", "aws",
               "--concurrency", "8", "--json", cwd=tmp_path)  # works outside the repo root too
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert set(rows[0]) == {"cloud", "region", "instance_type", "gpu", "gpus_per_node", "tp", "replicas_per_node",
                            "weights_gib_per_gpu", "kv_tokens", "max_concurrency", "fits", "reason",
                            "hourly_usd", "usd_per_mtok"}
    # The cheapest AWS GPU (1x L4, $0.8048/h) holds 8B fp8 with 8 sequences of 8k: it comes first.
    first = rows[0]
    assert (first["instance_type"], first["tp"], first["fits"], first["hourly_usd"]) == ("g6.xlarge", 1, True, 0.8048)
    catalog = load_catalog()
    expected = fit(catalog.model("meta-llama/Llama-3.1-8B-Instruct"), catalog.instance("aws", "g6.xlarge"), 1,
                   dtype="fp8", max_model_len=8192, concurrency=8)
    assert (first["kv_tokens"], first["max_concurrency"]) == (expected.kv_tokens, expected.max_concurrency)
    assert all(r["cloud"] == "aws" for r in rows)
    fits = [r["fits"] for r in rows]
    assert fits == sorted(fits, reverse=True)
    assert all(r["reason"] for r in rows if not r["fits"])
    p5 = next(r for r in rows if r["instance_type"] == "p5.4xlarge")
    assert p5["usd_per_mtok"] is not None  # a TensorRT-LLM reference exists for 8B fp8 on 1x H100


def test_human_table_shows_feasible_and_refused_rows():
    proc = run("--model", "meta-llama/Llama-3.1-70B-Instruct", "--cloud", "gcp", "--region", "us-central1",
               "--concurrency", "16")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.startswith("cloud"))
    assert "KV tokens" in header and "$/h" in header
    assert any("a3-highgpu-8g" in line and line.rstrip().endswith("yes") for line in lines)
    assert any("g2-standard-4" in line and "no: weights" in line for line in lines)


def test_unknown_model_exits_2_with_close_match():
    proc = run("--model", "meta-llama/Llama-3.1-8B-Instruc")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0  # one line
    assert proc.stderr.startswith("--model:") and "meta-llama/Llama-3.1-8B-Instruct" in proc.stderr


def test_unknown_dtype_exits_2_naming_option_and_alternative():
    proc = run("--model", "meta-llama/Llama-3.1-8B-Instruct", "--dtype", "bf61")
    assert proc.returncode == 2
    assert proc.stderr.startswith("--dtype: unknown dtype 'bf61'") and "bf16" in proc.stderr


TRAFFIC = ("--model", "meta-llama/Llama-3.3-70B-Instruct", "--dtype", "fp8", "--cloud", "aws", "--region", "us-east-1",
           "--requests-per-day", "500000", "--input-tokens", "1000", "--output-tokens", "300", "--ttft-p95", "3",
           "--itl-p95", "0.05")


def test_traffic_ranks_candidates_by_monthly_cost_at_that_traffic():
    proc = run(*TRAFFIC, "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    costed = [r for r in rows if r["monthly_usd"] is not None]
    assert costed and [r["monthly_usd"] for r in costed] == sorted(r["monthly_usd"] for r in costed)
    first = costed[0]
    # nodes = ceil(replicas / replicas per node); monthly = nodes x on-demand $/h x 730 h.
    assert first["nodes"] == -(-first["replicas_peak"] // first["replicas_per_node"])
    assert first["monthly_usd"] == round(first["nodes"] * first["hourly_usd"] * 730, 2)
    # $/Mtok = monthly / (average req/s x 3600 x 730 x (1000 + 300) tokens / 1e6); average = 500k / 86,400.
    tokens = 500_000 / 86_400 * 3600 * 730 * 1300 / 1e6
    assert first["usd_per_mtok"] == round(first["monthly_usd"] / tokens, 4) or abs(
        first["usd_per_mtok"] - first["monthly_usd"] / tokens) < 1e-3
    assert all(r["traffic_reason"] for r in rows if r["monthly_usd"] is None)


def test_bad_traffic_input_exits_2_with_the_field():
    proc = run(*TRAFFIC[:-4], "--ttft-p95", "-1")
    assert proc.returncode == 2 and "ttft_p95_seconds" in proc.stderr
