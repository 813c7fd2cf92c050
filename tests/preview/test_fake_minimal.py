"""The preview fake stays minimal: every resource-output and invoke answer of ``components/preview`` is reached by
the real program (``stacks/__main__.py``) on a committed stack or on one of the two feature variants the suite plans
(GCP VM mode, an opted-in Capacity Block purchase, an existing VPC, a
CMEK bucket on GCP). An answer nothing reaches is untested fiction: delete it, or add
the stack that needs it (issue 16 item 7)."""
from __future__ import annotations

import pytest

from components.preview.mocks import INVOKES, RESOURCE_OUTPUTS
from components.preview.run import run_program
from tests.aws_eks.conftest import capacity_block_raw, existing_vpc_raw
from tests.conftest import ROOT, STACKS
from tests.gcp import variants


def _gcp_cmek() -> dict:
    raw = variants.gcp_only("staging")
    raw["gpuinfra:gcp"]["weights_bucket"] = {
        "encryption": "kms", "kms_key": "projects/acme-llm-staging/locations/us-central1/keyRings/gpuinfra/cryptoKeys/w"}
    return raw


#: Features no committed stack turns on, each planned once here.
VARIANTS = {"gcp-vm-mode": ("staging", variants.vm_mode), "capacity-block-purchase": ("prod", capacity_block_raw),
            "existing-vpc": ("dev", existing_vpc_raw), "gcp-cmek": ("staging", _gcp_cmek)}


@pytest.fixture(scope="module")
def reached() -> tuple[set[str], set[str]]:
    types: set[str] = set()
    invokes: set[str] = set()
    runs = [run_program(ROOT, stack) for stack in STACKS]
    runs += [run_program(ROOT, stack, raw_config=make()) for stack, make in VARIANTS.values()]
    for run in runs:
        types |= {r.type for r in run.resources}
        invokes |= set(run.invokes)
    return types, invokes


def test_every_resource_output_answer_is_reached(reached):
    types, _ = reached
    assert not sorted(set(RESOURCE_OUTPUTS) - types), "no plan registers these types"


def test_every_invoke_answer_is_reached(reached):
    _, invokes = reached
    assert not sorted(set(INVOKES) - invokes), "no plan invokes these data sources"
