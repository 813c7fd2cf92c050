"""The fixture program under the offline runner, in this process: records, options, secrets, errors, isolation."""

import json
from pathlib import Path

import pytest

from components.preview.config import load_raw_config
from components.preview.mocks import UnknownInvokeError
from components.preview.run import ProgramError, ProgramExit, run_program

FIXTURE = Path(__file__).parent / "fixtures" / "project"
SECRETS = ("mock-secret-fixture-hf_token", "kubeconfig-token-PLAINTEXT-7f3a")


@pytest.fixture(scope="module")
def run():
    return run_program(FIXTURE, "test")


def _raw(**overrides):
    return {**load_raw_config(FIXTURE / "prog" / "Pulumi.test.yaml"), **overrides}


def _by_name(run, name):
    (record,) = [r for r in run.resources if r.name == name]
    return record


def test_every_registration_is_recorded_once(run):
    names = sorted((r.type, r.name) for r in run.resources)
    assert names == sorted([
        ("gpuinfra:test:Store", "store"),
        ("pulumi:providers:aws", "store-usw2"),
        ("aws:s3/bucket:Bucket", "store-weights"),
        ("aws:iam/role:Role", "store-reader"),
        ("aws:ec2/launchTemplate:LaunchTemplate", "store-l4"),
        ("aws:ec2/launchTemplate:LaunchTemplate", "store-h100"),
        ("pulumi:providers:kubernetes", "fixture-k8s"),
        ("kubernetes:core/v1:Namespace", "serving"),
        ("kubernetes:core/v1:ConfigMap", "settings"),
        ("kubernetes:core/v1:Secret", "hf-token"),
        ("kubernetes:helm.sh/v3:Release", "dcgm"),
    ])


def test_inputs_are_camel_case_with_integral_numbers(run):
    bucket = _by_name(run, "store-weights")
    assert bucket.inputs == {"forceDestroy": False, "tags": {"team": "ml"}}
    assert _by_name(run, "store-l4").inputs["instanceType"] == "g6.xlarge"


def test_parent_links(run):
    assert _by_name(run, "store").parent == {"type": "pulumi:pulumi:Stack", "name": "fixture-test"}
    assert _by_name(run, "store-weights").parent == {"type": "gpuinfra:test:Store", "name": "store"}
    assert _by_name(run, "store-usw2").parent == {"type": "gpuinfra:test:Store", "name": "store"}
    # parents come before their children
    order = [r.name for r in run.resources]
    assert order.index("store") < order.index("store-weights")


def test_options_are_recorded(run):
    options = dict(_by_name(run, "store-weights").options)
    # pulumi-aws 7 registers s3.Bucket with aliases to the old BucketV2 type (state written by either type adopts)
    assert options.pop("aliases", None) in (None, [{"type": "aws:s3/bucketV2:BucketV2"}] * 2)
    assert options == {"protect": True, "retainOnDelete": True, "provider": "store-usw2"}
    role = _by_name(run, "store-reader").options
    assert role["ignoreChanges"] == ["tags"]
    assert role["provider"] == "store-usw2"
    assert role["dependsOn"] == [{"type": "aws:s3/bucket:Bucket", "name": "store-weights"}]
    assert _by_name(run, "settings").options["dependsOn"] == [{"type": "kubernetes:core/v1:Namespace", "name": "serving"}]
    assert "protect" not in _by_name(run, "store-l4").options


def test_invokes_answer_for_the_provider_region(run):
    assert run.outputs["zones"] == ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"]
    assert _by_name(run, "store-l4").inputs["imageId"].startswith("ami-0")
    assert run.invokes.count("aws:index/getAvailabilityZones:getAvailabilityZones") == 1


def test_outputs_are_resolved_and_secrets_redacted(run):
    assert run.outputs["replicas"] == 3
    assert run.outputs["labels"] == ["gpu", "serving"]
    assert run.outputs["bucket"].startswith("store-weights-")
    assert run.outputs["token"] == "[secret]"


def test_secrets_never_appear_in_records_or_outputs(run):
    assert _by_name(run, "hf-token").inputs["stringData"] == "[secret]"
    assert _by_name(run, "fixture-k8s").inputs["kubeconfig"] == "[secret]"
    dumped = json.dumps([r.to_dict() for r in run.resources] + [r.outputs for r in run.resources] + [run.outputs])
    for secret in SECRETS:
        assert secret not in dumped


def test_unknown_invoke_fails_loudly_naming_the_token():
    with pytest.raises(ProgramError) as err:
        run_program(FIXTURE, "test", raw_config=_raw(**{"fixture:call_unknown": "true"}))
    assert isinstance(err.value.original, UnknownInvokeError)
    assert "aws:ec2/getVpc:getVpc" in str(err.value)


def test_error_inside_an_apply_is_unwrapped_to_the_original():
    with pytest.raises(ProgramError) as err:
        run_program(FIXTURE, "test", raw_config=_raw(**{"fixture:fail_in_apply": "true"}))
    assert type(err.value.original) is ValueError
    assert str(err.value.original).startswith("bucket store-weights-") and str(err.value.original).endswith(" rejected")


def test_config_error_exits_2_before_registering_anything(capfd):
    with pytest.raises(ProgramExit) as err:
        run_program(FIXTURE, "test", raw_config=_raw(replicas="0"))
    assert err.value.code == 2
    assert err.value.resources == []
    assert capfd.readouterr().err.strip() == "error: fixture:replicas: must be >= 1, got 0"


def test_runs_in_one_process_share_no_state(run):
    again = run_program(FIXTURE, "test")
    keys = [(r.type, r.name) for r in again.resources]
    assert len(keys) == len(set(keys)) == len(run.resources)
    assert [r.to_dict() for r in again.resources] == [r.to_dict() for r in run.resources]
    assert again.outputs == run.outputs
    # a failed run in between leaves nothing behind either
    with pytest.raises(ProgramExit):
        run_program(FIXTURE, "test", raw_config=_raw(replicas="0"))
    third = run_program(FIXTURE, "test", raw_config=_raw(**{"gpuinfra:aws": {"gpu_pools": []}}))
    assert len(third.resources) == len(run.resources) - 2
