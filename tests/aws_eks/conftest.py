"""Offline plans of dev, prod and EKS variants, shared per test session, with property dependencies."""
from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from components.preview import run as preview_run
from components.preview.recorder import RecordingMonitor, ResourceRecord
from tests.conftest import ROOT, raw_stack
from tests.records import RecordLookups


class _DepsMonitor(RecordingMonitor):
    """Recording monitor that also keeps each resource's property dependencies (input -> URNs)."""

    def __init__(self, mocks: Any) -> None:
        super().__init__(mocks)
        self.property_deps: dict[str, dict[str, list[str]]] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        deps = {k: list(v.urns) for k, v in request.propertyDependencies.items()}
        with self._lock:
            self.property_deps[response.urn] = deps
        return response


@dataclass
class Plan(RecordLookups):
    """One offline run: records, outputs, and property dependencies by URN."""

    resources: list[ResourceRecord]
    outputs: dict[str, Any]
    property_deps: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def children(self, parent_type: str, parent_name: str, typ: str) -> list[ResourceRecord]:
        return [r for r in self.of_type(typ) if r.parent == {"type": parent_type, "name": parent_name}]


def run_plan(stack: str, raw: dict | None = None) -> Plan:
    """Run the program offline on a committed stack or a variant config, capturing property deps."""
    monitors: list[_DepsMonitor] = []

    def factory(mocks: Any) -> _DepsMonitor:
        monitors.append(_DepsMonitor(mocks))
        return monitors[-1]

    original = preview_run.RecordingMonitor
    preview_run.RecordingMonitor = factory  # type: ignore[assignment]
    try:
        result = preview_run.run_program(ROOT, stack, raw_config=raw)
    finally:
        preview_run.RecordingMonitor = original  # type: ignore[assignment]
    return Plan(result.resources, result.outputs, monitors[0].property_deps)


def policy_doc(record: ResourceRecord) -> dict:
    """The JSON policy document of an IAM/S3 policy record."""
    policy = record.inputs["policy"]
    return json.loads(policy) if isinstance(policy, str) else policy


#: The offering ``scripts/capacity.py --capacity-blocks`` chose (config, never looked up), in a zone outside prod's
#: first three (az_count): the plan adds a subnet there for the block's nodes (issue 17 item 9).
BLOCK_OFFERING, BLOCK_ZONE = "cb-0a1b2c3d4e5f60718", "us-east-1d"


def capacity_block_raw() -> dict:
    """Prod with the us-east-1 H200 floor on an opted-in Capacity Block (chosen offering) instead of the ODCR."""
    raw = copy.deepcopy(raw_stack("prod"))
    aws = raw["gpuinfra:aws"]
    aws["reservations"] = []
    aws["capacity_blocks"] = [{"name": "h200-use1-block", "instance_type": "p5en.48xlarge", "count": 1,
                               "duration_hours": 168, "start_after": dt.date(2026, 12, 1).isoformat(),
                               "offering_id": BLOCK_OFFERING, "availability_zone": BLOCK_ZONE}]
    aws["allow_capacity_block_purchase"] = True
    aws["gpu_pools"][0]["capacity"]["reservation"] = "h200-use1-block"
    return raw


def existing_vpc_raw() -> dict:
    """Dev on an existing VPC with private subnets in two zones, an admin principal and a KMS bucket."""
    raw = copy.deepcopy(raw_stack("dev"))
    aws = raw["gpuinfra:aws"]
    aws["network"] = {"existing_vpc_id": "vpc-0abc", "existing_private_subnet_ids": EXISTING_SUBNETS}
    aws["eks"]["admin_principal_arns"] = [ADMIN_ARN]
    aws["eks"]["viewer_principal_arns"] = [VIEWER_ARN]
    aws["weights_bucket"] = {"encryption": "kms", "protect": True, "noncurrent_version_days": 9}
    return raw


def vm_raw() -> dict:
    """Dev in VM mode (the capacity work's fleets on this network and bucket)."""
    raw = copy.deepcopy(raw_stack("dev"))
    raw["gpuinfra:aws"]["mode"] = "vm"
    return raw


ADMIN_ARN = "arn:aws:iam::123456789012:role/platform/eks-admin"
VIEWER_ARN = "arn:aws:iam::123456789012:role/gpuinfra-preview"


def _subnets_in_two_zones() -> list[str]:
    """Two subnet ids the offline getSubnet answer places in different zones."""
    from components.preview.aws_invokes import subnet_lookup
    from components.preview.mock_context import MockContext

    seen: dict[str, str] = {}
    for i in range(50):
        ident = f"subnet-0{i:04d}"
        zone = subnet_lookup(MockContext("aws:ec2/getSubnet:getSubnet", "", {"id": ident}))["availabilityZone"]
        seen.setdefault(zone, ident)
        if len(seen) == 2:
            return list(seen.values())
    raise AssertionError("no two zones")


EXISTING_SUBNETS = _subnets_in_two_zones()


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    """dev and prod as committed, plus the capacity-block and existing-VPC variants (run once)."""
    return {"dev": run_plan("dev"), "prod": run_plan("prod"),
            "block": run_plan("prod", capacity_block_raw()), "existing": run_plan("dev", existing_vpc_raw()),
            "vm": run_plan("dev", vm_raw())}
