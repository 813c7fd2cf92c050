"""Stack configuration: every committed stack loads; bad input fails with key path, value and what is allowed."""
from __future__ import annotations

import copy

import pytest

from components.spec import ConfigError, load_stack_spec
from tests.conftest import encode, raw_stack


def _load(raw: dict, secret_keys: list[str] | None = None):
    config, secrets = encode(raw)
    return load_stack_spec(config, secret_keys if secret_keys is not None else secrets)


def test_committed_stacks_validate(stack_name):
    spec = _load(raw_stack(stack_name))
    assert spec.environment == stack_name
    assert spec.models and spec.pools()


def test_dev_is_small_single_cloud_spot_only():
    spec = _load(raw_stack("dev"))
    assert spec.gcp is None and spec.aws is not None
    (cloud, pool), = spec.pools()
    assert pool.capacity.floor == 0 and pool.capacity.spot > 0  # scales to zero, spot burst only
    assert spec.models[0].hf_repo.endswith("8B-Instruct")


def test_prod_is_multi_region_with_a_floor():
    spec = _load(raw_stack("prod"))
    regions = {spec.pool_region(c, p) for c, p in spec.pools()}
    assert len(regions) >= 2
    assert all(p.capacity.floor >= 1 for _, p in spec.pools())
    assert any("70B" in m.hf_repo for m in spec.models)


def test_provider_region_fills_the_aws_section():
    assert _load(raw_stack("dev")).aws.region == "us-east-1"


def _mutate(stack: str, path: list, value):
    raw = copy.deepcopy(raw_stack(stack))
    node = raw
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return raw


_DELETE = object()

# (stack, path into the raw config, new value, expected key path, expected words in the message)
INVALID = [
    # an instance type the catalog does not know, with a close match
    ("dev", ["gpuinfra:aws", "gpu_pools", 0, "instance_types", 1], "p9.48xlarge",
     "gpuinfra:aws.gpu_pools[0].instance_types[1]", ["'p9.48xlarge' is not a known instance type", "known: g5"]),
    # a misspelled nested key
    ("dev", ["gpuinfra:aws", "gpu_pool"], [], "gpuinfra:aws.gpu_pool", ["unknown key", "did you mean 'gpu_pools'"]),
    # an unknown environment
    ("dev", ["gpuinfra:environment"], "qa", "gpuinfra:environment", ["'qa'", "'dev', 'staging' or 'prod'"]),
    # a floating model revision
    ("dev", ["gpuinfra:models", 0, "revision"], "main", "gpuinfra:models[0].revision", ["'main' floats"]),
    # a model served on a pool that does not exist
    ("dev", ["gpuinfra:models", 0, "pools", 0], "l4-spto", "gpuinfra:models[0].pools[0]", ["'l4-spto' is not a GPU pool", "l4-spot"]),
    # a model missing from the catalog without architecture numbers
    ("dev", ["gpuinfra:models", 0, "hf_repo"], "meta-llama/Llama-3.1-8B-Instrukt", "gpuinfra:models[0].hf_repo",
     ["not in the model catalog", "did you mean 'meta-llama/Llama-3.1-8B-Instruct'"]),
    # an MoE architecture routing each token to more experts than it has
    ("dev", ["gpuinfra:models", 0, "architecture"],
     {"params": 4.7e10, "layers": 32, "attention_heads": 32, "kv_heads": 8, "head_dim": 128, "max_context": 32768,
      "experts": 2, "experts_per_token": 3}, "gpuinfra:models[0].architecture", ["experts_per_token 3 exceeds experts 2"]),
    # a ladder with no capacity at all
    ("dev", ["gpuinfra:aws", "gpu_pools", 0, "capacity"], {"spot": 0}, "gpuinfra:aws.gpu_pools[0].capacity", ["no capacity"]),
    # a pool mixing GPU classes
    ("dev", ["gpuinfra:aws", "gpu_pools", 0, "instance_types"], ["g6.xlarge", "p5.48xlarge"],
     "gpuinfra:aws.gpu_pools[0].instance_types[1]", ["one GPU class"]),
    # a region where the pool's types are not offered (SkyPilot catalog: only p4de in ap-southeast-1)
    ("dev", ["gpuinfra:aws", "gpu_pools", 0, "region"], "ap-southeast-1", "gpuinfra:aws.gpu_pools[0].region", ["no catalog price"]),
    # a reservation reference to nothing
    ("prod", ["gpuinfra:aws", "gpu_pools", 0, "capacity", "reservation"], "nope",
     "gpuinfra:aws.gpu_pools[0].capacity.reservation", ["'nope' is not a reservation of aws"]),
    # a negative count
    ("dev", ["gpuinfra:aws", "gpu_pools", 0, "capacity", "spot"], -1, "gpuinfra:aws.gpu_pools[0].capacity.spot", ["-1", "greater than or equal to 0"]),
    # a missing required key
    ("dev", ["gpuinfra:budget"], _DELETE, "gpuinfra:budget", ["required key is missing"]),
    # replicas min above max
    ("dev", ["gpuinfra:models", 0, "replicas"], {"min": 3, "max": 1}, "gpuinfra:models[0].replicas", ["min 3 exceeds max 1"]),
    # a tensor parallel size that is not a power of two
    ("dev", ["gpuinfra:models", 0, "tensor_parallel_size"], 3, "gpuinfra:models[0].tensor_parallel_size", ["3"]),
    # a public endpoint without TLS
    ("dev", ["gpuinfra:serving", "exposure"], "public", "gpuinfra:serving", ["TLS is mandatory"]),
]


@pytest.mark.parametrize("stack,path,value,key,words", INVALID, ids=[row[3] + ":" + row[4][0][:20] for row in INVALID])
def test_invalid_config_names_key_value_and_allowed(stack, path, value, key, words):
    with pytest.raises(ConfigError) as caught:
        _load(_mutate(stack, path, value))
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith(f"{key}: "), line
    for word in words:
        assert word in line, line


def test_misspelled_top_level_key_is_an_error():
    raw = copy.deepcopy(raw_stack("dev"))
    raw["gpuinfra:budgett"] = {"monthly_usd": 1}
    with pytest.raises(ConfigError, match=r"^gpuinfra:budgett: unknown key \(did you mean 'budget'\?"):
        _load(raw)


def test_plain_text_secret_is_refused():
    raw = copy.deepcopy(raw_stack("dev"))
    raw["gpuinfra:vllm_api_key"] = "sk-plain"
    with pytest.raises(ConfigError, match="must be a secret") as caught:
        _load(raw)
    assert "sk-plain" not in str(caught.value)


def test_secret_values_never_enter_the_spec():
    raw = copy.deepcopy(raw_stack("dev"))
    raw["gpuinfra:vllm_api_key"] = {"secure": "v1:ciphertext"}
    config, secrets = encode(raw)
    spec = load_stack_spec(config, secrets)
    assert spec.secrets == frozenset({"vllm_api_key"})
    assert config["gpuinfra:vllm_api_key"] not in spec.model_dump_json()


def test_secret_inside_a_structured_key_is_refused():
    raw = copy.deepcopy(raw_stack("dev"))
    raw["gpuinfra:aws"]["eks"]["admin_principal_arns"] = [{"secure": "v1:abc"}]
    with pytest.raises(ConfigError, match=r"^gpuinfra:aws: holds a secret"):
        _load(raw)


def test_spec_is_frozen():
    spec = _load(raw_stack("dev"))
    with pytest.raises(Exception):
        spec.environment = "prod"  # type: ignore[misc]


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::123456789012:user/ci",  # a user, not the role CI assumes
    "arn:aws:sts::123456789012:assumed-role/gpuinfra-preview/session",  # a session, not the role
    "arn:aws:iam::12345:role/gpuinfra-preview",
])
def test_viewer_principals_must_be_iam_role_arns(arn):
    raw = copy.deepcopy(raw_stack("dev"))
    raw["gpuinfra:aws"]["eks"]["viewer_principal_arns"] = [arn]
    with pytest.raises(ConfigError, match=r"aws\.eks\.viewer_principal_arns.*not an IAM role ARN"):
        _load(raw)


def test_a_principal_gets_one_access_entry():
    # EKS user guide "Grant IAM users access to Kubernetes with EKS access entries": "An IAM principal can't be
    # included in more than one access entry."
    raw = copy.deepcopy(raw_stack("dev"))
    arn = "arn:aws:iam::123456789012:role/gpuinfra-preview"
    raw["gpuinfra:aws"]["eks"].update(admin_principal_arns=[arn], viewer_principal_arns=[arn])
    with pytest.raises(ConfigError, match=r"aws\.eks.*viewer_principal_arns.*listed twice"):
        _load(raw)
