"""Values that used to fail only after registration (issue 21 item 4) are refused first, nothing registered."""
from __future__ import annotations

import copy

import pytest

from components.preview.run import ProgramExit, run_program
from tests.conftest import ROOT, raw_stack


def _with(stack: str, path: list, value) -> dict:
    raw = copy.deepcopy(raw_stack(stack))
    node = raw
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]
    node[path[-1]] = value
    return raw


# (stack, path, value, words of the one-line error); the old code raised ValueError/IndexError after 13-80 resources.
CASES = [
    ("dev", ["gpuinfra:aws", "network", "vpc_cidr"], "10.40.0.0/28", "gpuinfra:aws.network.vpc_cidr"),
    ("dev", ["gpuinfra:aws", "network", "vpc_cidr"], "10.40.0.0/32", "gpuinfra:aws.network.vpc_cidr"),
    ("staging", ["gpuinfra:aws", "network", "az_count"], 4, "gpuinfra:aws.network.az_count: 4 exceeds the 3 zones of us-east-2"),
    ("dev", ["gpuinfra:serving", "vllm_version"], "latest", "gpuinfra:serving.vllm_version"),
    ("dev", ["gpuinfra:aws", "eks", "kubernetes_version"], "1.30", "gpuinfra:aws.eks.kubernetes_version: '1.30': the "
     "pinned EKS add-on versions are for 1.35"),
    # a zone outside the first az_count gets a subnet (issue 17 item 9); a zone the region does not have is refused
    ("prod", ["gpuinfra:aws", "reservations", 0, "availability_zone"], "us-east-1g",
     "gpuinfra:aws.reservations[0].availability_zone: 'us-east-1g' is not a zone of us-east-1"),
]


@pytest.mark.parametrize("stack,path,value,words", CASES, ids=[c[3].split(":")[1] for c in CASES])
def test_refused_before_anything_registers(stack, path, value, words, capfd):
    with pytest.raises(ProgramExit) as exc:
        run_program(ROOT, stack, raw_config=_with(stack, path, value))
    assert exc.value.code == 2 and exc.value.resources == []
    (line,) = capfd.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and words in line, line


def test_router_keys_as_one_json_secret_plan_offline():
    # the README's form: pulumi config set --secret gpuinfra:router_api_keys '{"<client>": "<key>"}'
    raw = copy.deepcopy(raw_stack("prod"))
    raw["gpuinfra:serving"]["routing"]["clients"] = ["team-a"]
    raw["gpuinfra:router_api_keys"] = {"secure": "v1:AAAA"}
    run = run_program(ROOT, "prod", raw_config=raw)
    assert any(r.type == "kubernetes:core/v1:Secret" for r in run.resources)


def test_a_pool_name_too_long_for_gke_is_refused_before_registration(capfd):
    # GKE caps node pool names at 40 (pulumi/pulumi-gcp#1510): "<pool>-on-demand" plus Pulumi's 8-character suffix
    raw = copy.deepcopy(raw_stack("staging"))
    long = "l4-gke-pool-for-the-staging-env"
    raw["gpuinfra:gcp"]["gpu_pools"][0]["name"] = long
    raw["gpuinfra:models"][0]["pools"] = ["l40s-vm", long]
    with pytest.raises(ProgramExit) as exc:
        run_program(ROOT, "staging", raw_config=raw)
    assert exc.value.code == 2 and exc.value.resources == []
    line = capfd.readouterr().err.strip().splitlines()[-1]
    assert f"gpuinfra:gcp.gpu_pools[0].name: '{long}' makes the GKE node pool '{long}-on-demand'" in line
    assert "use at most 22 characters" in line
