"""promtool test rules on the prod stack's rule file: every alert fires in one case and stays quiet in another."""
from __future__ import annotations

import subprocess

import yaml

from components.plan.alerts import alerts, rule_file
from tests.conftest import require_tool
from tests.monitoring.helpers import stack_plan
from tests.monitoring.promtool_cases import alert_cases, recording_cases


def test_every_alert_has_a_firing_and_a_quiet_case():
    facts = stack_plan("prod").monitoring.facts
    tests = [t for c in alert_cases(facts) for t in c["alert_rule_test"]]
    firing = {t["alertname"] for t in tests if t["exp_alerts"]}
    quiet = {t["alertname"] for t in tests if not t["exp_alerts"]}
    names = {a.name for a in alerts(facts)}
    assert firing == names and quiet == names


def test_promtool_unit_tests_pass(tmp_path):
    promtool = require_tool("promtool")
    spec = stack_plan("prod")
    facts = spec.monitoring.facts
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule_file(spec.monitoring.facts), sort_keys=False))
    doc = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m",
           "tests": alert_cases(facts) + recording_cases(facts)}
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
