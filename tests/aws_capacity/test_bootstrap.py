"""The VM startup contract as data: golden renderings plus the properties a reviewer checks."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from components.catalog.versions import image, vllm_image
from components.plan.bootstrap import VmBootstrap, vm_cloud_init, vm_engine_args, vm_startup_script
from components.plan.sizing import plan_model_on_pool
from components.spec import load_stack_spec
from tests.conftest import ROOT, encode, raw_stack

GOLDEN = ROOT / "tests" / "golden" / "aws_capacity"
#: EC2 rejects user data above 16 KB (raw, before base64): EC2 User Guide, "Instance user data", 2026-11.
USER_DATA_LIMIT = 16 * 1024


def _bootstrap(cloud: str) -> VmBootstrap:
    """Staging's llama-8b on its AWS pool, with fixed bucket and secret names."""
    spec = load_stack_spec(*encode(raw_stack("staging")))
    model = spec.models[0]
    plan = plan_model_on_pool(spec, model, "l40s-vm")
    scheme, secret = ("s3", "arn:aws:secretsmanager:us-east-2:123456789012:secret:vllm-api-key-AbCdEf") \
        if cloud == "aws" else ("gs", "projects/acme-llm-staging/secrets/vllm-api-key")
    return VmBootstrap(
        cloud=cloud, model=model.name, weights_uri=f"{scheme}://weights-bucket/{model.name}/{model.revision}/",
        engine_args=plan.engine_args, vllm_image=vllm_image(), dcgm_exporter_image=image("dcgm_exporter"),
        node_exporter_image=image("node_exporter"), api_key_secret=secret,
        region="us-east-2" if cloud == "aws" else "us-central1", metrics_group="" if cloud == "aws" else "staging-l4",
        queue_pool="l40s-vm" if cloud == "aws" else "")


@pytest.mark.parametrize(("name", "render"), [
    ("vm_cloud_init_aws.yaml", lambda: vm_cloud_init(_bootstrap("aws"))),
    ("vm_startup_gcp.sh", lambda: vm_startup_script(_bootstrap("gcp"))),
])
def test_rendering_matches_the_golden_file(name, render):
    path = GOLDEN / name
    text = render()
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed: review, then regenerate with UPDATE_GOLDEN=1"


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_script_is_valid_bash_with_raid0_sha256_and_pinned_images(cloud):
    b = _bootstrap(cloud)
    script = vm_startup_script(b)
    bash = shutil.which("bash")
    assert bash, "bash is required"
    subprocess.run([bash, "-n"], input=script, text=True, check=True)
    assert script.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in script
    assert "mdadm --create" in script and "--level=0" in script and 'mount -o noatime "$dev" "$NVME_MOUNT"' in script
    assert "hashlib.sha256" in script and "sha256 mismatch" in script and "manifest.json" in script
    for pinned in (b.vllm_image, b.dcgm_exporter_image, b.node_exporter_image):
        assert f"={pinned}\n" in script and ":latest" not in pinned
    assert "-p 9400:9400" in script and "--web.listen-address=:9100" in script and "--gpus all" in script
    copy = "aws s3 cp" if cloud == "aws" else "gcloud storage cp"
    assert copy in script
    assert ("put-metric-data" in script) is (cloud == "aws")


def test_engine_args_point_at_the_local_copy_and_keep_the_plan():
    b = _bootstrap("aws")
    args = vm_engine_args(b)
    assert args[:4] == ["--model", f"/models/{b.model}/{b.revision}", "--served-model-name", b.model]
    assert args.count("--model") == 1 and args.count("--served-model-name") == 1
    planned = b.engine_args.argv()
    i = planned.index("--tensor-parallel-size")
    assert tuple(planned[i:i + 2]) in [tuple(args[j:j + 2]) for j in range(len(args))]
    assert "ENGINE_ARGS=(--model /models/" in vm_startup_script(b)


def test_cloud_init_runs_the_script_on_every_boot_and_fits_user_data():
    text = vm_cloud_init(_bootstrap("aws"))
    doc = yaml.safe_load(text)
    script, unit = (f["content"] for f in doc["write_files"])
    assert script == vm_startup_script(_bootstrap("aws"))
    assert doc["write_files"][0]["permissions"] == "0700"
    assert "WantedBy=multi-user.target" in unit and "Restart=on-failure" in unit
    assert ["systemctl", "enable", "--now", "--no-block", "gpuinfra-bootstrap.service"] in doc["runcmd"]
    assert len(text.encode()) < USER_DATA_LIMIT


def test_the_api_key_is_fetched_at_boot_into_a_root_only_file():
    script = vm_startup_script(_bootstrap("aws"))
    assert "aws secretsmanager get-secret-value" in script and "umask 077" in script
    assert '--env-file "$ENV_FILE"' in script and "VLLM_API_KEY=" not in script.split("write_api_key()")[0]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("weights_uri", "gs://wrong-cloud/m/r/", "must start with s3://"),
    ("weights_uri", "s3://bucket/m/r", "end with '/'"),
    ("vllm_image", "vllm/vllm-openai:latest", "not pinned"),
    ("dcgm_exporter_image", "nvcr.io/nvidia/k8s/dcgm-exporter", "not pinned"),
])
def test_bad_contract_is_refused(field, value, message):
    from dataclasses import replace

    with pytest.raises(ValueError, match=message):
        vm_startup_script(replace(_bootstrap("aws"), **{field: value}))


def test_gcp_vms_export_the_queue_gauge_the_burst_autoscalers_read():
    from components.plan.vm_autoscaling import QUEUE_METRIC

    script = vm_startup_script(_bootstrap("gcp"))
    config = script.split("<<OPS\n", 1)[1].split("\nOPS\n", 1)[0].replace("${PORT}", "8000")
    receiver = yaml.safe_load(config)["metrics"]
    scrape = receiver["receivers"]["vllm"]
    # the Ops Agent's Prometheus receiver writes vLLM's gauges as prometheus.googleapis.com/<name>/gauge
    assert scrape["type"] == "prometheus"
    assert scrape["config"]["scrape_configs"][0]["static_configs"][0]["targets"] == ["localhost:8000"]
    assert receiver["service"]["pipelines"]["vllm"]["receivers"] == ["vllm"]
    assert QUEUE_METRIC == "prometheus.googleapis.com/vllm:num_requests_waiting/gauge"


#: A /metrics page shaped like vLLM's (two engines of one server, plus a series whose name only starts alike).
_VLLM_METRICS = """# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="llama-8b"} 3.0
vllm:num_requests_waiting{engine="1",model_name="llama-8b"} 2.0
vllm:num_requests_waiting_by_reason{reason="capacity"} 40.0
vllm:num_requests_running{engine="0",model_name="llama-8b"} 9.0
"""


def _run_metric_timer(tmp_path, metrics: str | None, queue_pool: str) -> list[str]:
    """Run the AWS one-minute metric script with stub nvidia-smi / curl / aws; return the aws calls."""
    script = vm_startup_script(_bootstrap("aws"))
    body = script.split("cat > /usr/local/sbin/gpuinfra-gpu-metric <<'SH'\n", 1)[1].split("\nSH\n", 1)[0]
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    stubs = {"nvidia-smi": "echo 17; echo 42",
             "curl": (f"cat <<'EOF'\n{metrics}EOF" if metrics is not None else "exit 7"),
             "aws": f'echo "$*" >> {calls}'}
    for name, text in stubs.items():
        (bin_dir / name).write_text(f"#!/usr/bin/env bash\n{text}\n")
        (bin_dir / name).chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "REGION": "us-east-2", "INSTANCE_ID": "i-0abc",
           "METRICS_NAMESPACE": "gpuinfra/GPU", "METRIC_NAME": "GPUUtilization", "PORT": "8000",
           "QUEUE_POOL": queue_pool, "QUEUE_METRIC_NAME": "WaitingRequests", "QUEUE_DIMENSION": "Pool",
           "WAITING_METRIC": "vllm:num_requests_waiting"}
    subprocess.run(["bash", "-c", body], env=env, check=True)
    return calls.read_text().splitlines() if calls.exists() else []


def test_the_metric_timer_publishes_the_pools_waiting_requests(tmp_path):
    calls = _run_metric_timer(tmp_path, _VLLM_METRICS, "l40s-vm")
    assert len(calls) == 2 and "--metric-name GPUUtilization" in calls[0] and "--value 42" in calls[0]
    # Both engines' gauges, not the look-alike series: 3 + 2.
    assert "--metric-name WaitingRequests --unit Count --value 5 --dimensions Pool=l40s-vm" in calls[1]


@pytest.mark.parametrize(("metrics", "pool"), [
    (None, "l40s-vm"),        # vLLM still loading (connection refused): publish nothing, do not fail the unit
    (_VLLM_METRICS, ""),      # a fixed-size pool: no scaling metric
])
def test_the_metric_timer_publishes_no_queue_without_a_serving_engine_or_a_policy(tmp_path, metrics, pool):
    calls = _run_metric_timer(tmp_path, metrics, pool)
    assert len(calls) == 1 and "GPUUtilization" in calls[0]
