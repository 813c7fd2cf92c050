"""scripts/bench_upload.py smoke test: a tiny synthetic model against its own moto server; output format only."""
from __future__ import annotations

import json
import re

from tests.ops.conftest import run_script


def test_bench_prints_both_throughputs_and_ratio():
    result = run_script("bench_upload", ["--size-gib", "0.01", "--part-size-mib", "5", "--concurrency", "2"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"upload_weights: \d+\.\d\d s  \d+\.\d MiB/s \(sha256 \+ manifest included\)", lines[1])
    assert re.fullmatch(r"boto3 upload_file: \d+\.\d\d s  \d+\.\d MiB/s", lines[2])
    assert re.fullmatch(r"ratio upload_weights/upload_file: \d+\.\d\d", lines[3])


def test_bench_json_keys():
    result = run_script("bench_upload", ["--size-gib", "0.01", "--part-size-mib", "5", "--json"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)) == {"size_mib", "part_mib", "concurrency", "upload_weights_s",
                                              "upload_weights_mib_s", "upload_file_s", "upload_file_mib_s", "ratio"}
