"""Capacity Blocks are bought from a configured offering, never looked up by the stack (issue 17 item 3).

The provider's ``aws.ec2.getCapacityBlockOffering`` fails on zero and on several matching offerings
(terraform-provider-aws internal/service/ec2/ec2_capacity_block_offering_data_source.go, findCapacityBLockOffering:
``NewEmptyResultError`` / ``NewTooManyResultsError``; stored version 0d7ccf26) and a bought offering leaves the
market, so a search belongs in ``scripts/capacity.py`` and the stack names the chosen offering id and zone."""
from __future__ import annotations

import copy

import pytest

from components.plan.stack import plan_stack
from components.preview.run import ProgramExit, run_program
from components.spec import ConfigError, load_stack_spec
from tests.conftest import ROOT, encode, raw_stack

COMMAND = "python scripts/capacity.py --capacity-blocks --stack prod"


def _with_block(allow: bool, **chosen: str) -> dict:
    raw = copy.deepcopy(raw_stack("prod"))
    aws = raw["gpuinfra:aws"]
    aws["capacity_blocks"] = [{"name": "h200-block", "instance_type": "p5en.48xlarge", "count": 1,
                               "duration_hours": 48, "start_after": "2026-12-10", **chosen}]
    aws["allow_capacity_block_purchase"] = allow
    return raw


def _plan(raw: dict):
    return plan_stack(load_stack_spec(*encode(copy.deepcopy(raw))))


def test_the_opt_in_without_a_chosen_offering_is_refused_before_anything_registers():
    raw = _with_block(True)
    with pytest.raises(ConfigError) as err:
        _plan(raw)
    assert err.value.path == "gpuinfra:aws.capacity_blocks[0].offering_id"
    assert COMMAND in err.value.message
    with pytest.raises(ProgramExit) as exited:
        run_program(ROOT, "prod", raw_config=raw)
    assert exited.value.code == 2 and exited.value.resources == []


def test_an_offering_id_needs_its_zone():
    with pytest.raises(ConfigError) as err:
        _plan(_with_block(False, offering_id="cb-0123456789abcdef0"))
    assert "capacity_blocks[0]" in err.value.path and "needs availability_zone" in err.value.message


@pytest.mark.parametrize("chosen, step", [
    ({}, COMMAND),  # nothing searched yet: the plan says what to run
    ({"offering_id": "cb-0123456789abcdef0", "availability_zone": "us-east-1b"},
     "set gpuinfra:aws.allow_capacity_block_purchase: true"),  # chosen, not opted in
])
def test_without_the_opt_in_nothing_is_bought_and_the_plan_says_what_to_do(chosen, step):
    from components.plan.report import warnings

    stack = _plan(_with_block(False, **chosen))
    (block,) = stack.aws.capacity_blocks
    assert block.buy is False and step in block.next_step
    assert [w for w in warnings(stack.basis.spec) if "h200-block" in w and step in w]


def test_the_bought_block_keeps_the_configured_zone():
    stack = _plan(_with_block(True, offering_id="cb-0123456789abcdef0", availability_zone="us-east-1c"))
    (block,) = stack.aws.capacity_blocks
    assert (block.buy, block.offering_id, block.availability_zone) == (True, "cb-0123456789abcdef0", "us-east-1c")
