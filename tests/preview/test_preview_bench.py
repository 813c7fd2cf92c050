"""scripts/bench.py output format on the fixture (figures are printed, never asserted)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "project"


def test_bench_prints_every_figure():
    cmd = [sys.executable, str(ROOT / "scripts" / "bench.py"), "--runs", "1", "--stacks", "test", "--scale-stack", "test",
           "--project-dir", str(FIXTURE), "--sections", "tests.preview.preview_fakes:build"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert re.search(r"^test: plan \d+\.\d\d s \(median of 1\), import floor \d+\.\d\d s .*resources 11$", out, re.M)
    assert re.search(r"^plan/import ratio \(test\): \d+\.\d\d", out, re.M)
    assert re.search(r"^ms per resource beyond import \(test\): -?\d+\.\d", out, re.M)
    assert re.search(r"^peak RSS \(test\): \d+ MB", out, re.M)
    # x10 GPU pools: 2 launch templates become 20
    assert re.search(r"^scale \(test x10\): resources 11 -> 29, time beyond import -?\d+\.\d\d s -> -?\d+\.\d\d s, "
                     r"per-resource ratio (-?\d+\.\d\d|n/a)", out, re.M)  # n/a when noise makes time <= 0
