"""The VM boot script's Ops Agent step (issue 18, item 12): install, then configure, then restart, and fail
loudly. Runs gcp.sh's function with bash, with systemctl and curl stubbed on PATH."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

GCP_SH = ROOT / "components" / "plan" / "data" / "vm" / "gcp.sh"
STUB_SYSTEMCTL = """#!/bin/sh
echo "systemctl $*" >> "$JOURNAL"
case "$1" in
  cat) [ -e "$STATE/installed" ] ;;
  restart) exit "${RESTART_RC:-0}" ;;
esac
"""
# The real installer's package ships a default config.yaml: the fake one does the same, then exits $INSTALL_RC.
STUB_CURL = """#!/bin/sh
echo "curl $*" >> "$JOURNAL"
out=""
while [ $# -gt 0 ]; do [ "$1" = "-o" ] && out="$2"; shift; done
cat > "$out" <<'SH'
echo "install $*" >> "$JOURNAL"
mkdir -p "$OPS_DIR"
echo "default: true" > "$OPS_DIR/config.yaml"
touch "$STATE/installed"
exit "${INSTALL_RC:-0}"
SH
"""


def _run_setup(tmp_path: Path, installed: bool = False,
               **env: str) -> tuple[subprocess.CompletedProcess, list[str], Path]:
    """Run gcp.sh's setup_cloud_services under ``set -euo pipefail`` with systemctl and curl stubbed."""
    stubs, state, ops = tmp_path / "bin", tmp_path / "state", tmp_path / "etc" / "google-cloud-ops-agent"
    stubs.mkdir()
    state.mkdir()
    if installed:
        (state / "installed").touch()
    for name, body in (("systemctl", STUB_SYSTEMCTL), ("curl", STUB_CURL)):
        (stubs / name).write_text(body)
        (stubs / name).chmod(0o755)
    journal = tmp_path / "journal"
    journal.touch()
    body = GCP_SH.read_text().replace("/etc/google-cloud-ops-agent", str(ops))
    script = tmp_path / "run.sh"
    script.write_text("set -euo pipefail\nPORT=8000\nMETRICS_GROUP=staging-l4\nlog() { echo \"gpuinfra-bootstrap: $*\" >&2; }\n"
                      + body + "\nsetup_cloud_services\necho REACHED_END\n")
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30, env={
        **os.environ, "PATH": f"{stubs}:{os.environ['PATH']}", "JOURNAL": str(journal), "STATE": str(state),
        "OPS_DIR": str(ops), **env})
    return proc, journal.read_text().splitlines(), ops / "config.yaml"


def _first(journal: list[str], prefix: str) -> int:
    return next(i for i, line in enumerate(journal) if line.startswith(prefix))


def test_ops_agent_is_installed_then_configured_then_restarted(tmp_path):
    proc, journal, config = _run_setup(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _first(journal, "install") < _first(journal, "systemctl restart google-cloud-ops-agent")
    # The installer's default config must not survive: the vLLM receiver is what the autoscaler reads.
    text = config.read_text()
    assert "default: true" not in text
    assert "job_name: vllm" in text and 'targets: ["localhost:8000"]' in text
    # The pool's group label on every series: the burst autoscalers' filter selects it.
    assert 'gpuinfra_group: "staging-l4"' in text


@pytest.mark.parametrize("env", [{"INSTALL_RC": "3"}, {"RESTART_RC": "1"}], ids=["install", "restart"])
def test_an_ops_agent_failure_fails_the_boot_script(tmp_path, env):
    proc, _, _ = _run_setup(tmp_path, **env)
    assert proc.returncode != 0
    assert "REACHED_END" not in proc.stdout
    assert "Ops Agent" in proc.stderr


def test_an_installed_agent_is_reconfigured_without_reinstalling(tmp_path):
    proc, journal, config = _run_setup(tmp_path, installed=True)
    assert proc.returncode == 0, proc.stderr
    assert not any(line.startswith(("install", "curl")) for line in journal)
    assert "job_name: vllm" in config.read_text()
    assert journal[-1] == "systemctl restart google-cloud-ops-agent"
