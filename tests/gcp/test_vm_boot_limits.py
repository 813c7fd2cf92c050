"""GCP VM mode refuses a model whose boot outlasts Compute Engine's autohealing delay (issue 18 item 8).

Compute Engine accepts ``autoHealingPolicies[].initialDelaySec`` only in [0, 3600] (REST reference of
instanceGroupManagers); a VM still copying weights when the delay ends fails its health check and is recreated, so
a fleet whose boot takes longer would never serve. The plan must refuse it before anything is registered."""
from __future__ import annotations

import copy

import pytest

from components.plan.bootstrap import health_check_grace_seconds
from components.plan.stack import plan_stack
from components.preview.run import ProgramExit, run_program
from components.spec import ConfigError, load_stack_spec
from tests.conftest import ROOT, encode
from tests.gcp import variants

GCE_INITIAL_DELAY_MAX = 3600  # instanceGroupManagers REST reference: "must be from range [0, 3600]"


def _with_405b() -> dict:
    raw = variants.vm_mode()
    big = raw["gpuinfra:models"][1]
    big.update(name="llama-405b", hf_repo="meta-llama/Llama-3.1-405B-Instruct", dtype="fp8",
               revision="be673f326cab4cd22ccfef76109faf68e41aa5f1", max_model_len=8192, min_concurrency=4,
               replicas={"min": 1, "max": 2})
    return raw


def test_a_model_too_big_to_boot_within_the_autohealing_delay_is_refused_with_its_key():
    raw = _with_405b()
    with pytest.raises(ConfigError) as err:
        plan_stack(load_stack_spec(*encode(copy.deepcopy(raw))))
    assert err.value.path == "gpuinfra:gcp.mode"
    assert "'llama-405b'" in err.value.message and "3600 s" in err.value.message
    with pytest.raises(ProgramExit) as exited:
        run_program(ROOT, "staging", raw_config=raw)
    assert exited.value.code == 2 and exited.value.resources == []


def test_the_same_model_on_gke_is_planned():
    """GKE's kubelet probes wait for the weights (startup probe), so the cap is VM mode's alone."""
    raw = _with_405b()
    raw["gpuinfra:gcp"]["mode"] = "gke"
    raw["gpuinfra:gcp"].pop("vm")
    raw["gpuinfra:gcp"]["gke"] = {"master_authorized_cidrs": raw["gpuinfra:deployer"]["network_cidrs"]}
    raw["gpuinfra:serving"]["routing"] = {"enabled": True}  # the 8B canary on GKE needs the router
    plan = plan_stack(load_stack_spec(*encode(raw)))
    big = next(p for p in plan.serving if p.model == "llama-405b")
    assert big.fits and health_check_grace_seconds(big.weights_gib) > GCE_INITIAL_DELAY_MAX  # really over the cap


def test_every_committed_vm_variant_boots_within_the_delay():
    plan = plan_stack(load_stack_spec(*encode(variants.vm_mode())))
    for serving in plan.serving:
        if serving.cloud == "gcp" and serving.fits:
            assert health_check_grace_seconds(serving.weights_gib) <= GCE_INITIAL_DELAY_MAX, serving.model
