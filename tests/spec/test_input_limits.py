"""Malformed stacks are refused with the key named (issue 21): types, bounds, strings, networks, dates, duplicates."""
from __future__ import annotations

import copy
import datetime as dt
import typing

import pytest
from pydantic import BaseModel

from components.spec import ConfigError, StackSpec, load_stack_spec
from components.spec.errors import _model_in
from tests.conftest import encode, raw_stack

TODAY = dt.datetime.now(dt.timezone.utc).date()
FUTURE = (TODAY + dt.timedelta(days=60)).isoformat()
PAST = "2020-01-01"


def _load(raw: dict):
    config, secrets = encode(raw)
    return load_stack_spec(config, secrets)


def _set(stack: str, path: list, value) -> dict:
    raw = copy.deepcopy(raw_stack(stack))
    node = raw
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
    node[path[-1]] = value
    return raw


AWS, GCP, MODELS = "gpuinfra:aws", "gpuinfra:gcp", "gpuinfra:models"
RES = {"name": "odcr-b", "availability_zone": "us-east-1a", "instance_type": "p5en.48xlarge", "count": 1}
BLOCK = {"name": "cb", "instance_type": "p5.48xlarge", "count": 1, "duration_hours": 24, "start_after": FUTURE}

# (stack, path, value, expected key path, words in the message); each row fails on the code before issue 21.
INVALID = [
    # 1: a revision with a newline and a command; a revision with a path separator
    ("staging", [MODELS, 0, "revision"], "v1\ncurl http://x | sh #", "gpuinfra:models[0].revision", ["not a revision"]),
    ("dev", [MODELS, 0, "revision"], "refs/pr/1", "gpuinfra:models[0].revision", ["without '/'"]),
    ("staging", [MODELS, 0, "canary", "revision"], "$(reboot)", "gpuinfra:models[0].canary.revision", ["not a revision"]),
    # 3: a path outside the repository
    ("dev", ["gpuinfra:policy", "baseline_plan"], "/etc/passwd", "gpuinfra:policy.baseline_plan", ["repository-relative"]),
    ("dev", ["gpuinfra:policy", "baseline_plan"], "../../etc/passwd", "gpuinfra:policy.baseline_plan", ["no '..'"]),
    # 4: program errors after registration become plan-time errors
    ("dev", [AWS, "network", "vpc_cidr"], "10.40.0.0/28", "gpuinfra:aws.network.vpc_cidr", ["/16 to /22"]),
    ("dev", [AWS, "network", "vpc_cidr"], "10.40.0.0/32", "gpuinfra:aws.network.vpc_cidr", ["/16 to /22"]),
    ("dev", ["gpuinfra:serving", "vllm_version"], "latest", "gpuinfra:serving.vllm_version", ["not a vLLM release"]),
    # prod's pools span two regions: one existing VPC id cannot exist in both (the us-west-2 lookup fails at deploy)
    ("prod", [AWS, "network"], {"existing_vpc_id": "vpc-0123456789abcdef0",
                                "existing_private_subnet_ids": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]},
     "gpuinfra:aws.network.existing_vpc_id", ["single-region", "us-east-1, us-west-2"]),
    ("dev", [AWS, "network"], {"existing_vpc_id": "vpc-1; rm -rf /", "existing_private_subnet_ids": ["subnet-1", "subnet-2"]},
     "gpuinfra:aws.network.existing_vpc_id", ["vpc-<8 or 17 hex digits>"]),
    # 6: booleans are not numbers, strings are not numbers
    ("dev", [AWS, "gpu_pools", 0, "capacity", "spot"], True, "gpuinfra:aws.gpu_pools[0].capacity.spot", ["valid integer"]),
    ("dev", ["gpuinfra:budget", "monthly_usd"], True, "gpuinfra:budget.monthly_usd", ["valid number"]),
    ("dev", [MODELS, 0, "max_model_len"], "8192", "gpuinfra:models[0].max_model_len", ["valid integer"]),
    ("dev", [AWS, "eks", "endpoint_public_access"], 1, "gpuinfra:aws.eks.endpoint_public_access", ["valid boolean"]),
    # 7: every number has a physical range
    ("dev", [AWS, "gpu_pools", 0, "root_volume_gib"], 2**64, "gpuinfra:aws.gpu_pools[0].root_volume_gib", ["16384"]),
    ("dev", ["gpuinfra:monitoring", "retention_days"], 2**64, "gpuinfra:monitoring.retention_days", ["3650"]),
    ("dev", [AWS, "idle_watchdog", "idle_minutes"], 10**9, "gpuinfra:aws.idle_watchdog.idle_minutes", ["1440"]),
    ("dev", [MODELS, 0, "max_model_len"], 2**40, "gpuinfra:models[0].max_model_len", ["16777216"]),
    ("dev", ["gpuinfra:budget", "monthly_usd"], 1e308, "gpuinfra:budget.monthly_usd", ["100000000"]),
    ("dev", [MODELS, 0, "architecture"], {"params": 8e9, "layers": 2**63, "attention_heads": 32, "kv_heads": 8,
                                          "head_dim": 128, "max_context": 8192},
     "gpuinfra:models[0].architecture.layers", ["1024"]),
    # 8: names and strings, against their strictest consumer
    ("dev", ["gpuinfra:serving", "namespace"], "llm\n", "gpuinfra:serving.namespace", ["not a valid name"]),
    ("dev", [AWS, "gpu_pools", 0, "name"], "l4-spot\n", "gpuinfra:aws.gpu_pools[0].name", ["not a valid name"]),
    ("dev", ["gpuinfra:owner"], "ml\u202eplatform", "gpuinfra:owner", ["U+202E"]),
    ("dev", ["gpuinfra:owner"], "ml\x07platform", "gpuinfra:owner", ["U+0007"]),
    ("dev", ["gpuinfra:cost_center"], "c" * 300, "gpuinfra:cost_center", ["1 to 256"]),
    ("dev", [AWS, "weights_bucket", "name"], "My_Bucket", "gpuinfra:aws.weights_bucket.name", ["not an S3 bucket name"]),
    ("dev", [AWS, "weights_bucket", "name"], "192.168.1.1", "gpuinfra:aws.weights_bucket.name", ["IP form"]),
    ("prod", [GCP, "weights_bucket", "name"], "google-weights", "gpuinfra:gcp.weights_bucket.name", ["not a GCS bucket"]),
    ("dev", [AWS, "weights_bucket", "kms_key"], "alias/x; rm -rf /", "gpuinfra:aws.weights_bucket.kms_key", ["KMS key ARN"]),
    ("prod", [GCP, "weights_bucket", "kms_key"], "my-key", "gpuinfra:gcp.weights_bucket.kms_key", ["Cloud KMS key"]),
    ("dev", ["gpuinfra:serving", "tls_certificate"], "arn:aws:acm:us-east-1:12:certificate/x;id",
     "gpuinfra:serving.tls_certificate", ["ACM certificate ARN"]),
    ("dev", [AWS, "eks", "kubernetes_version"], "1.10", "gpuinfra:aws.eks.kubernetes_version", ["1.29"]),
    ("dev", [MODELS, 0, "hf_repo"], "meta-llama/Llama\u00e9-3", "gpuinfra:models[0].hf_repo", ["not a Hugging Face repo id"]),
    # 9: networks, zones, dates, schedules
    ("dev", [AWS, "network", "vpc_cidr"], "fd00::/48", "gpuinfra:aws.network.vpc_cidr", ["IPv6"]),
    ("dev", [AWS, "network", "vpc_cidr"], "0.0.0.0/0", "gpuinfra:aws.network.vpc_cidr", ["not private"]),
    ("dev", [AWS, "network", "vpc_cidr"], "8.8.0.0/16", "gpuinfra:aws.network.vpc_cidr", ["not private"]),
    ("prod", [GCP, "network"], {"pods_cidr": "10.8.0.0/14"}, "gpuinfra:gcp.network.pods_cidr", ["overlaps subnet_cidr"]),
    ("prod", [GCP, "network"], {"master_cidr": "172.16.0.0/24"}, "gpuinfra:gcp.network.master_cidr", ["/28 to /28"]),
    ("prod", [GCP, "network"], {"master_cidr": "10.10.0.0/28"}, "gpuinfra:gcp.network.master_cidr", ["overlaps subnet_cidr"]),
    ("dev", [AWS, "gpu_pools", 0, "zones"], ["us-west-2a"], "gpuinfra:aws.gpu_pools[0].zones[0]", ["not a zone of the pool's region us-east-1"]),
    ("prod", [AWS, "reservations", 0, "availability_zone"], "us-west-2a", "gpuinfra:aws.reservations[0].availability_zone",
     ["not a zone of the reservation's region us-east-1"]),
    ("prod", [AWS, "gpu_pools", 0, "zones"], ["us-east-1b", "us-east-1c"], "gpuinfra:aws.gpu_pools[0].zones",
     ["excludes us-east-1a"]),
    ("prod", [GCP, "gpu_pools", 0, "instance_types"], ["a3-highgpu-8g", "a3-highgpu-4g"], "gpuinfra:gcp.gpu_pools[0].instance_types",
     ["exactly one"]),
    ("prod", [AWS, "reservations", 0, "end_date"], PAST, "gpuinfra:aws.reservations[0]", ["not in the future"]),
    ("prod", [AWS, "capacity_blocks"], [{**BLOCK, "start_after": PAST, "end_before": "2020-03-01"}],
     "gpuinfra:aws.capacity_blocks[0]", ["in the past"]),
    ("prod", [AWS, "capacity_blocks"], [{**BLOCK, "end_before": FUTURE}], "gpuinfra:aws.capacity_blocks[0]",
     ["leaves no room"]),
    ("prod", [AWS, "capacity_blocks"], [{**BLOCK, "offering_id": "cb-XYZ"}], "gpuinfra:aws.capacity_blocks[0].offering_id",
     ["cb-"]),
    ("prod", [AWS, "capacity_blocks"], [{**BLOCK, "availability_zone": "us-west-2b"}],
     "gpuinfra:aws.capacity_blocks[0].availability_zone", ["not a zone of the block's region us-east-1"]),
    ("prod", [MODELS, 0, "autoscaling", "peak_windows", 0, "start"], "garbage", "gpuinfra:models[0].autoscaling.peak_windows[0].start",
     ["5-field"]),
    ("prod", [MODELS, 0, "autoscaling", "peak_windows", 0, "start"], "0 25 * * 1-5",
     "gpuinfra:models[0].autoscaling.peak_windows[0].start", ["hour field '25'"]),
    ("prod", [MODELS, 0, "autoscaling", "peak_windows", 0, "end"], "0 22 * * 1-9",
     "gpuinfra:models[0].autoscaling.peak_windows[0].end", ["day of week field"]),
    ("prod", [MODELS, 0, "autoscaling", "peak_windows", 0, "timezone"], "Mars/Olympus",
     "gpuinfra:models[0].autoscaling.peak_windows[0].timezone", ["not an IANA time zone"]),
    ("prod", [MODELS, 0, "autoscaling", "peak_windows", 0, "min_replicas"], 13, "gpuinfra:models[0]",
     ["exceeds replicas.max 12"]),
    ("dev", [AWS, "log_retention_days"], 45, "gpuinfra:aws.log_retention_days", ["not a CloudWatch Logs retention"]),
    # 10: duplicates the name maps hid
    ("prod", [AWS, "reservations"], [RES, {**RES}], "gpuinfra:aws.reservations[1].name", ["used twice"]),
    ("prod", [AWS, "capacity_blocks"], [{**BLOCK, "name": "h200-use1-odcr"}], "gpuinfra:aws.capacity_blocks[0].name",
     ["used twice"]),
    ("dev", [MODELS, 0, "pools"], ["l4-spot", "l4-spot"], "gpuinfra:models[0].pools", ["twice"]),
]


@pytest.mark.parametrize("stack,path,value,where,words", INVALID, ids=[f"{r[3]}={r[2]!r:.30}" for r in INVALID])
def test_malformed_input_is_refused_with_its_key(stack, path, value, where, words):
    with pytest.raises(ConfigError) as err:
        _load(_set(stack, path, value))
    assert err.value.path == where, str(err.value)
    for word in words:
        assert word in err.value.message, str(err.value)


def test_owner_in_brackets_is_read_as_text_and_refused_as_an_iam_tag_value():
    # the CLI passes top-level scalars as text: "[ml-platform]" is a string (not a list), and IAM's Tag Value
    # pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]* (IAM API reference, API_Tag) refuses "[" on the node and Lambda roles
    with pytest.raises(ConfigError) as err:
        _load(_set("dev", ["gpuinfra:owner"], "[ml-platform]"))
    assert err.value.path == "gpuinfra:owner" and "'[ml-platform]' contains '['" in err.value.message
    for ok in ("ML Platform", "ml-platform@example.com", "team/ml_platform:1+2=3", "Équipe ML 2"):
        assert _load(_set("dev", ["gpuinfra:owner"], ok)).owner == ok


def test_structured_key_given_as_text_is_refused_with_its_key():
    with pytest.raises(ConfigError) as err:
        _load(_set("dev", ["gpuinfra:budget"], "lots"))
    assert err.value.path == "gpuinfra:budget" and "not a mapping or list" in err.value.message


@pytest.mark.parametrize("text", ['{"monthly_usd": Infinity}', '{"monthly_usd": NaN}',
                                  '{"monthly_usd": 1, "monthly_usd": 2}', "[" * 5000 + "]" * 5000])
def test_structured_values_are_strict_bounded_json(text):
    config, secrets = encode(raw_stack("dev"))
    config["gpuinfra:budget"] = text
    with pytest.raises(ConfigError) as err:
        load_stack_spec(config, secrets)
    assert err.value.path == "gpuinfra:budget"


def test_valid_dates_windows_and_zones_pass():
    raw = _set("prod", [AWS, "capacity_blocks"], [{**BLOCK, "offering_id": "cb-0a1b2c3d4e5f60718",
                                                     "availability_zone": "us-east-1b"}])
    raw[AWS]["reservations"][0]["end_date"] = FUTURE
    raw[MODELS][0]["autoscaling"]["peak_windows"][0].update(timezone="America/New_York", start="*/15 8-10 * JAN-MAR MON-FRI")
    spec = _load(raw)
    assert spec.aws.capacity_blocks[0].offering_id == "cb-0a1b2c3d4e5f60718"
    assert spec.aws.reservations[0].end_date == dt.date.fromisoformat(FUTURE)


def _numeric_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for name, field in model.model_fields.items():
        nested = _model_in(field.annotation)
        if nested is not None:
            out += _numeric_fields(nested, f"{prefix}{name}.")
            continue
        args = [a for a in typing.get_args(field.annotation) if a is not type(None)] or [field.annotation]
        if any(a in (int, float) for a in args) or field.annotation in (int, float):
            out.append((f"{prefix}{name}", field))
    return out


def test_every_number_in_the_schema_has_a_lower_and_an_upper_bound():
    from pydantic.fields import FieldInfo

    unbounded = []
    for key, field in _numeric_fields(StackSpec):
        metadata = list(field.metadata)
        for arg in typing.get_args(field.annotation):  # Annotated[int, Field(...)] | None
            metadata += [m for m in getattr(arg, "__metadata__", ()) if isinstance(m, FieldInfo) for m in m.metadata]
        lows = [m for m in metadata if hasattr(m, "ge") or hasattr(m, "gt")]
        highs = [m for m in metadata if hasattr(m, "le") or hasattr(m, "lt")]
        if not lows or not highs:
            unbounded.append(key)
    assert not unbounded, unbounded
    assert len(_numeric_fields(StackSpec)) > 40  # the walk reached the numbers
