"""GCS weights bucket privacy and retention; reservations shaped like their consumers, mismatches refused."""
from __future__ import annotations

import copy

import pytest

from components.preview.run import ProgramExit, run_program
from components.plan.stack import plan_stack
from components.spec import ConfigError, load_stack_spec
from tests.conftest import ROOT, encode
from tests.gcp import variants

BUCKET = "gcp:storage/bucket:Bucket"


@pytest.fixture(params=["staging", "prod", "vm"])
def stack(request):
    return request.getfixturevalue(request.param)


def test_bucket_is_private_and_versioned(stack):
    b = stack.one(BUCKET, "weights").inputs
    assert b["uniformBucketLevelAccess"] is True
    assert b["publicAccessPrevention"] == "enforced"
    assert b["versioning"] == {"enabled": True}
    actions = {rule["action"]["type"]: rule["condition"] for rule in b["lifecycleRules"]}
    assert actions["Delete"]["daysSinceNoncurrentTime"] == stack.spec.gcp.weights_bucket.noncurrent_version_days
    assert "AbortIncompleteMultipartUpload" in actions
    assert b["labels"]["environment"] == stack.spec.environment


def test_bucket_retained_always_protected_in_prod(stack):
    options = stack.one(BUCKET, "weights").options
    assert options["retainOnDelete"] is True
    assert options.get("protect", False) is (stack.spec.environment == "prod")


def test_readers_are_prefix_conditioned_writer_is_not(staging):
    model = staging.spec.models[0]
    reader = staging.one("gcp:storage/bucketIAMMember:BucketIAMMember", f"weights-{model.name}-reader-objects").inputs
    bucket = staging.one(BUCKET, "weights").inputs["name"]
    expr = reader["condition"]["expression"]
    assert f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{model.name}/{model.revision}/")' in expr
    assert model.canary and f"/objects/{model.name}/{model.canary.revision}/" in expr
    writer = staging.one("gcp:storage/bucketIAMMember:BucketIAMMember", "weights-writer-objects").inputs
    assert writer["role"] == "roles/storage.objectUser" and "condition" not in writer


def test_cmek_sets_the_default_key_and_grants_the_storage_agent():
    raw = variants.gcp_only("staging")
    key = "projects/acme-llm-staging/locations/us-central1/keyRings/gpuinfra/cryptoKeys/weights"
    raw["gpuinfra:gcp"]["weights_bucket"] = {"encryption": "kms", "kms_key": key}
    run = run_program(ROOT, "staging", raw_config=raw)
    bucket = next(r for r in run.resources if r.type == BUCKET)
    assert bucket.inputs["encryption"] == {"defaultKmsKeyName": key}
    grant = next(r for r in run.resources if r.type == "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert grant.inputs["cryptoKeyId"] == key and "gs-project-accounts" in grant.inputs["member"]
    # The storage agent reads CMEK objects with this grant too ("write and read Cloud KMS-encrypted objects":
    # cloud.google.com/sdk/gcloud/reference/storage/service-agent, --authorize-cmek): a retained bucket whose grant
    # is deleted on destroy keeps weights no one can read. The grant outlives the stack like the bucket.
    assert grant.options["retainOnDelete"] is True
    assert grant.options.get("protect", False) is bucket.options.get("protect", False)


def test_reservation_matches_its_pool_exactly(prod):
    res = prod.one("gcp:compute/reservation:Reservation", "a3-usc1-a").inputs
    assert res["specificReservationRequired"] is True and res["zone"] == "us-central1-a"
    props = res["specificReservation"]["instanceProperties"]
    pool = prod.one("gcp:container/nodePool:NodePool", "h100-gke-reserved").inputs["nodeConfig"]
    assert props["machineType"] == pool["machineType"]
    assert props["guestAccelerators"] == [{"acceleratorType": pool["guestAccelerators"][0]["type"],
                                           "acceleratorCount": pool["guestAccelerators"][0]["count"]}]
    assert len(props["localSsds"]) == pool["ephemeralStorageLocalSsdConfig"]["localSsdCount"]
    assert all(ssd == {"diskSizeGb": 375, "interface": "NVME"} for ssd in props["localSsds"])


def _prod_with(**changes) -> dict:
    raw = variants.gcp_only("prod")
    res = raw["gpuinfra:gcp"]["reservations"][0]
    res.update(changes.pop("reservation", {}))
    raw["gpuinfra:gcp"]["gpu_pools"][0].update(changes)
    return raw


@pytest.mark.parametrize(("raw", "path", "words"), [
    # Bundled A3 SSDs: a reservation claiming 2 would never be consumed by 16-SSD nodes.
    (_prod_with(reservation={"local_ssd_count": 2}), "gpuinfra:gcp.reservations[0].local_ssd_count",
     "2 does not match the 16 local SSDs a3-highgpu-8g nodes of pool 'h100-gke' attach"),
    # Specific affinity with fewer reserved VMs than the pool's reserved floor: the rest never starts.
    (_prod_with(capacity={"reserved": 2, "reservation": "a3-usc1-a", "spot": 2}), "gpuinfra:gcp.reservations[0].count",
     "1 is below the 2 reserved nodes"),
    # The reservation's zone is not one the pool may use.
    (_prod_with(zones=["us-central1-b", "us-central1-c"]), "gpuinfra:gcp.reservations[0].zone",
     "'us-central1-a' is outside the zones of pool 'h100-gke'"),
    # A zone in another region than the pool.
    (_prod_with(reservation={"zone": "us-east4-a"}), "gpuinfra:gcp.gpu_pools[0].capacity.reservation",
     "is in us-east4 but the pool is in us-central1"),
])
def test_reservation_mismatch_is_a_config_error(raw, path, words):
    with pytest.raises(ConfigError) as err:
        plan_stack(load_stack_spec(*encode(raw)))
    assert err.value.path == path and words in err.value.message
    with pytest.raises(ProgramExit) as exited:
        run_program(ROOT, "prod", raw_config=raw)
    assert exited.value.code == 2 and exited.value.resources == []


def test_matching_explicit_ssd_count_is_accepted():
    plan_stack(load_stack_spec(*encode(_prod_with(reservation={"local_ssd_count": 16}))))


def test_kms_without_a_key_is_refused_on_gcp():
    raw = variants.gcp_only("staging")
    raw["gpuinfra:gcp"]["weights_bucket"] = {"encryption": "kms"}
    with pytest.raises(ConfigError, match=r"gpuinfra:gcp\.weights_bucket\.kms_key: is required"):
        plan_stack(load_stack_spec(*encode(raw)))


def test_vm_pool_serves_exactly_one_model():
    raw = variants.vm_mode()
    raw["gpuinfra:models"][1]["pools"] = ["h100-vm", "l4-vm"]
    with pytest.raises(ConfigError) as err:
        load_stack_spec(*encode(copy.deepcopy(raw)))
    assert err.value.path == "gpuinfra:gcp.gpu_pools[0].name" and "served by 2 models" in err.value.message
