"""Every ops CLI renders its --help (typer/rich markup in option help once broke this)."""
from __future__ import annotations

import pytest

from tests.ops.conftest import run_script


@pytest.mark.parametrize("script", ["capacity", "refresh_catalog", "upload_weights", "bench_upload"])
def test_help_renders(script):
    result = run_script(script, ["--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout
