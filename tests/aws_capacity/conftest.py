"""Offline plans of staging (AWS VM mode) and VM-mode variants, shared per test session, with record helpers."""
from __future__ import annotations

import base64
import copy
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pytest
import yaml

from components.plan.ladder import LadderPlan, plan_ladder
from components.preview.plan import plan
from components.preview.recorder import ResourceRecord
from components.spec import StackSpec, load_stack_spec
from tests.conftest import ROOT, raw_stack
from tests.records import RecordLookups

ASG = "aws:autoscaling/group:Group"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
SUBNET = "aws:ec2/subnet:Subnet"
MY_COMPONENTS = {"gpuinfra:aws:VmServingFleet", "gpuinfra:aws:IdleWatchdog", "gpuinfra:aws:AwsReservations",
                 "gpuinfra:aws:GpuInstanceGroup", "gpuinfra:aws:GpuLaunchTemplate"}
API_KEY = {"secure": "AAABAKnownCiphertextOfTheApiKey"}


@dataclass
class VmPlan(RecordLookups):
    """One offline plan with lookups over its records."""

    resources: list[ResourceRecord]
    outputs: dict[str, Any]
    sections: dict[str, Any]
    invokes: list[str]
    config: dict[str, str]
    secret_keys: list[str]

    @cached_property
    def spec(self) -> StackSpec:
        return load_stack_spec(self.config, self.secret_keys)

    def ladder(self, pool: str) -> LadderPlan:
        return plan_ladder(self.spec, *self.spec.pool(pool))

    def by_output(self, typ: str, key: str, value: Any) -> ResourceRecord:
        found = [r for r in self.of_type(typ) if r.outputs.get(key) == value]
        assert len(found) == 1, f"{typ} with {key}={value}: {len(found)} records"
        return found[0]

    def ancestors(self, record: ResourceRecord) -> list[str]:
        """Types of every component above a record."""
        index = {(r.type, r.name): r for r in self.resources}
        out, parent = [], record.parent
        while parent and (parent["type"], parent["name"]) in index:
            out.append(parent["type"])
            parent = index[(parent["type"], parent["name"])].parent
        return out

    def mine(self) -> list[ResourceRecord]:
        """Custom resources created under this work's components."""
        return [r for r in self.resources if r.custom and MY_COMPONENTS & set(self.ancestors(r))]

    def user_data_script(self, lt: ResourceRecord) -> tuple[dict, str]:
        """The decoded cloud-config of a launch template and the bootstrap script inside it."""
        text = base64.b64decode(lt.inputs["userData"]).decode()
        assert text.startswith("#cloud-config\n")
        doc = yaml.safe_load(text)
        return doc, doc["write_files"][0]["content"]


def run_vm_plan(stack: str, raw: dict | None = None) -> VmPlan:
    result = plan(ROOT, stack, raw_config=raw)
    run = result.run
    return VmPlan(run.resources, run.outputs, result.sections, run.invokes, run.config, run.secret_keys)


def staging_raw() -> dict:
    raw = copy.deepcopy(raw_stack("staging"))
    raw["gpuinfra:vllm_api_key"] = API_KEY
    return raw


def _variant(**aws: Any) -> dict:
    raw = staging_raw()
    raw["gpuinfra:aws"] = {**raw["gpuinfra:aws"], **aws}
    return raw


def _pool(**capacity: Any) -> list[dict]:
    pool = copy.deepcopy(raw_stack("staging")["gpuinfra:aws"]["gpu_pools"][0])
    pool["capacity"] = capacity
    return [pool]


@pytest.fixture(scope="session")
def staging() -> VmPlan:
    """The committed staging stack (AWS VM mode, on-demand base + spot burst) with an API key set."""
    return run_vm_plan("staging", staging_raw())


@pytest.fixture(scope="session")
def odcr() -> VmPlan:
    """A reserved floor on a targeted ODCR in us-east-2b (not the region's first zone), IMDS hop limit 2,
    extra monitoring CIDRs."""
    raw = _variant(
        gpu_pools=_pool(reserved=1, reservation="l40s-odcr", on_demand=1, spot=2),
        reservations=[{"name": "l40s-odcr", "availability_zone": "us-east-2b", "instance_type": "g6e.xlarge",
                       "count": 1, "match": "targeted", "end_date": "2027-03-31"}],
        imds_hop_limit=2, vm={"load_balancer": "nlb", "monitoring_cidrs": ["10.99.0.0/24"]})
    return run_vm_plan("staging", raw)


#: The offering ``scripts/capacity.py --capacity-blocks`` printed, set in config (never looked up by the stack).
BLOCK_OFFERING, BLOCK_ZONE = "cb-0123456789abcdef0", "us-east-2c"


def _block_raw(allow: bool) -> dict:
    chosen = {"offering_id": BLOCK_OFFERING, "availability_zone": BLOCK_ZONE} if allow else {}
    return _variant(
        gpu_pools=_pool(reserved=1, reservation="l40s-block", spot=3),
        capacity_blocks=[{"name": "l40s-block", "instance_type": "g6e.xlarge", "count": 1, "duration_hours": 48,
                          "start_after": "2026-12-07", **chosen}],
        allow_capacity_block_purchase=allow)


@pytest.fixture(scope="session")
def block_offered() -> VmPlan:
    """A Capacity Block without the purchase opt-in and before any search (no offering chosen)."""
    return run_vm_plan("staging", _block_raw(False))


@pytest.fixture(scope="session")
def block_bought() -> VmPlan:
    """The same Capacity Block with its chosen offering (in us-east-2c) and ``allow_capacity_block_purchase: true``."""
    return run_vm_plan("staging", _block_raw(True))


@pytest.fixture(scope="session")
def no_spot() -> VmPlan:
    """An on-demand-only pool behind an ALB."""
    return run_vm_plan("staging", _variant(gpu_pools=_pool(on_demand=3), vm={"load_balancer": "alb"}))


@pytest.fixture(scope="session")
def prod_vm() -> VmPlan:
    """The staging VM fleet as a prod environment (no AutoShutdown tags, no watchdog)."""
    raw = staging_raw()
    raw["gpuinfra:environment"] = "prod"
    return run_vm_plan("staging", raw)
