"""Risky but legal settings load, and each gets one advisory naming its key (policies/rules/input_risks.py)."""
from __future__ import annotations

import copy

import pytest

from components.spec import load_stack_spec
from policies.rules.input_risks import risky_settings
from tests.conftest import encode, raw_stack


def _spec(stack: str, edit):
    raw = copy.deepcopy(raw_stack(stack))
    edit(raw)
    return load_stack_spec(*encode(raw))


def _min_one(raw):
    raw["gpuinfra:models"][0]["replicas"]["min"] = 1


def _idle(minutes=None, pct=None):
    def edit(raw):
        watchdog = raw["gpuinfra:aws"]["idle_watchdog"]
        if minutes is not None:
            watchdog["idle_minutes"] = minutes
        if pct is not None:
            watchdog["idle_threshold_pct"] = pct
    return edit


def _canary_zero(raw):
    raw["gpuinfra:models"][0]["canary"]["percent"] = 0


@pytest.mark.parametrize("stack,edit,words", [
    ("dev", _min_one, "gpuinfra:models[0].replicas.min 1 runs only on spot-only pools (l4-spot)"),  # dev's pool is spot-only
    ("dev", _idle(minutes=1), "gpuinfra:aws.idle_watchdog.idle_minutes 1 stops"),
    ("dev", _idle(pct=99.9), "gpuinfra:aws.idle_watchdog.idle_threshold_pct 99.9 counts"),
    ("staging", _canary_zero, "gpuinfra:models[0].canary.percent 0 sends no traffic"),
])
def test_each_risky_setting_gets_one_advisory(stack, edit, words):
    assert risky_settings(_spec(stack, lambda raw: None)) == []  # the committed stack has none
    found = risky_settings(_spec(stack, edit))
    assert len(found) == 1 and words in found[0], found


def test_advisories_reach_the_plan_as_advisory_violations():
    from policies.rules import evaluate

    spec = _spec("dev", _min_one)
    rows = [v for v in evaluate(spec, [], {}) if v["policy"] == "input-risks"]
    assert [r["level"] for r in rows] == ["advisory"] and "spot-only" in rows[0]["message"]
