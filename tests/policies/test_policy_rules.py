"""Every rule with a passing and a failing case, through the rules module (offline records) and CrossGuard validate()."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from components.catalog import load_catalog
from components.catalog.versions import vllm_image
from components.plan.scheduling import LABEL_POOL, LABEL_TIER
from policies.rules.view import ResourceView, from_records
from tests.policies.helpers import AWS_PROVIDER, Res, rule, run_offline, run_pack

NG = "aws:eks/nodeGroup:NodeGroup"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
TAGS = {"Environment": "dev", "CostCenter": "cc", "Owner": "team"}
REGION = {"aws_region": "us-east-1", "gcp_region": "us-central1"}
WEIGHTS = ("gpuinfra:aws:S3WeightsBucket", "weights")


def node_group(name="l4-spot", kind="SPOT", types=("g6.xlarge",), lo=0, hi=2, tier="spot", pool="l4"):
    return Res(NG, name, {"capacityType": kind, "instanceTypes": list(types), "tags": TAGS,
                          "labels": {LABEL_POOL: pool, LABEL_TIER: tier},
                          "scalingConfig": {"minSize": lo, "maxSize": hi, "desiredSize": lo}})


def compute_class(auto=False, when="DoNotScaleUp", priorities=None):
    """A GKE ComputeClass over two node pools (the CRD's spec fields, tests/upstream/crds/)."""
    return Res("kubernetes:cloud.google.com/v1:ComputeClass", "l4-compute-class", {"spec": {
        "priorities": priorities or [{"nodepools": ["l4-spot-1a2b3c4"]}, {"nodepools": ["l4-fallback-5d6e7f8"]}],
        "nodePoolAutoCreation": {"enabled": auto}, "whenUnsatisfiable": when,
        "activeMigration": {"optimizeRulePriority": True}}}, provider=None)


@pytest.mark.parametrize(("cc", "text"), [
    (compute_class(when="ScaleUpAnyway"), "scales up when no priority is satisfiable"),
    (compute_class(priorities=[{"machineFamily": "g2", "spot": True}]), "priorities[0] is not a node pool list"),
])
def test_compute_class_outside_the_ladder_is_refused(cc, text):
    """ScaleUpAnyway provisions nodes outside every priority (E2 on Standard with auto-creation) and a machine
    priority lets GKE pick shapes the cost plan never priced."""
    from policies.rules.capacity import check_compute_class

    view = from_records([{"type": cc.type, "name": cc.name, "parent": None, "inputs": cc.props, "options": {}}])[0]
    assert any(text in m for m in check_compute_class(view, {}))


def deployment(args, env=None, image=None, pool="l4"):
    container = {"name": "vllm", "image": image or vllm_image(), "args": args,
                 "env": env if env is not None else [{"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "key"}}}]}
    return Res("kubernetes:apps/v1:Deployment", "llama-8b", {"spec": {"template": {"spec": {
        "nodeSelector": {LABEL_POOL: pool}, "containers": [container]}}}}, provider=None)


def bucket(pab=True, sse=True, versioning="Enabled", protect=True, retain=True):
    flags = dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True)
    if not pab:
        flags["restrictPublicBuckets"] = False
    out = [Res("aws:s3/bucket:Bucket", "weights", {"bucket": "b", "tags": TAGS}, WEIGHTS, protect, retain),
           Res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "weights-pab", {"bucket": "b", **flags}, WEIGHTS),
           Res("aws:s3/bucketVersioning:BucketVersioning", "weights-v", {"bucket": "b", "versioningConfiguration": {"status": versioning}}, WEIGHTS)]
    if sse:
        out.append(Res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "weights-sse",
                       {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]}, WEIGHTS))
    return out


def _g6_month(nodes: int) -> float:
    """Worst case of ``nodes`` g6.xlarge from the catalog (on-demand, 730 h)."""
    return load_catalog().price("aws", "g6.xlarge", "us-east-1").on_demand * nodes * 730


AS_OF = load_catalog().as_of
FIT_8B = ["--model", "meta-llama/Llama-3.1-8B-Instruct", "--served-model-name", "llama-8b", "--tensor-parallel-size", "1",
          "--max-model-len", "8192", "--dtype", "bfloat16", "--kv-cache-dtype", "fp8"]
MODELS = {"llama-8b": {"hf_repo": "meta-llama/Llama-3.1-8B-Instruct", "min_concurrency": 6, "dtype": "bf16", "pools": ["l4"]}}

# (rule, passing resources, passing config, failing resources, failing config, text the failure names)
CASES = [
    ("budget-worst-case", [node_group()], {"budget_usd": 100_000, **REGION}, [node_group()], {"budget_usd": 10, **REGION},
     "worst-case $%s/month vs budget $10" % f"{_g6_month(2):,.0f}"),
    ("budget-expected", [node_group()], {"budget_usd": 100_000, "expected_ratio": 0.8, **REGION},
     [node_group()], {"budget_usd": 100, "expected_ratio": 0.5, **REGION}, "vs $50 (budget $100 x 0.5)"),
    ("catalog-freshness", [], {"today": AS_OF.isoformat()}, [], {"today": (AS_OF + dt.timedelta(days=400)).isoformat()},
     "days old (limit 120"),
    ("gpu-allow-list", [node_group()], {"allowed_gpus": ["L4"]}, [node_group()], {"allowed_gpus": ["H100"]},
     "g6.xlarge uses L4, not in the allowed GPUs ['H100']"),
    ("spot-required", [node_group()], {"require_spot": True, **REGION},
     [node_group("l4-od", "ON_DEMAND", tier="on-demand-fallback")], {"require_spot": True, **REGION}, "without a spot rung"),
    ("autoscaling-bounded", [node_group()], REGION, [node_group(hi=100)], {"max_nodes_per_rung": 8, **REGION},
     "may reach 100 nodes, above the limit of 8"),
    ("capacity-block-opt-in", [Res("aws:ec2/capacityBlockReservation:CapacityBlockReservation", "cb", {"tags": TAGS})],
     {"allow_capacity_block_purchase": True},
     [Res("aws:ec2/capacityBlockReservation:CapacityBlockReservation", "cb", {"tags": TAGS})], {}, "without the stack's opt-in"),
    ("compute-class-ladder-only", [compute_class()], {}, [compute_class(auto=True)], {}, "auto-creates node pools"),
    ("odcr-end-date", [Res("aws:ec2/capacityReservation:CapacityReservation", "r", {"instanceType": "p5.48xlarge", "instanceCount": 1,
                                                                                    "endDateType": "limited", "endDate": "2027-01-01T00:00:00Z"})],
     {"require_end_date": True},
     [Res("aws:ec2/capacityReservation:CapacityReservation", "r", {"instanceType": "p5.48xlarge", "instanceCount": 1,
                                                                   "endDateType": "unlimited"})],
     {"require_end_date": True}, "reserves 1 x p5.48xlarge with no end date"),
    ("idle-shutdown", [node_group()], {"require_idle_shutdown": True, **REGION},
     [node_group("l4-on-demand", "ON_DEMAND", lo=1, hi=1, tier="on-demand")], {"require_idle_shutdown": True, **REGION},
     "keeps 1 node(s) running with no idle shutdown"),
    ("cost-tags", [Res("aws:s3/bucket:Bucket", "b", {"bucket": "b"})], {},
     [Res("aws:s3/bucket:Bucket", "b", {"bucket": "b"}, provider={"region": "us-east-1"})], {},
     "lack ['Environment', 'CostCenter', 'Owner']"),
    ("imdsv2-required", [Res(LT, "lt", {"metadataOptions": {"httpTokens": "required"}})], {},
     [Res(LT, "lt", {"metadataOptions": {"httpTokens": "optional"}})], {}, "httpTokens is 'optional'"),
    ("no-public-ip", [Res(LT, "lt", {"networkInterfaces": [{"associatePublicIpAddress": "false"}]})], {},
     [Res("gcp:compute/instanceTemplate:InstanceTemplate", "t", {"networkInterfaces": [{"accessConfigs": [{}]}]})], {},
     "networkInterfaces[0] has access configs"),
    ("no-open-ingress", [Res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "in", {"cidrIpv4": "10.0.0.0/16", "fromPort": 8000})], {},
     [Res("gcp:compute/firewall:Firewall", "fw", {"allows": [{"protocol": "tcp"}], "sourceRanges": ["0.0.0.0/0"]})], {},
     "firewall allows ingress from ['0.0.0.0/0']"),
    ("images-pinned", [deployment(FIT_8B)], {}, [deployment(FIT_8B, image="vllm/vllm-openai:latest")], {},
     "image vllm/vllm-openai:latest uses the latest tag"),
    ("vllm-api-key", [deployment(FIT_8B)], {}, [deployment(FIT_8B, env=[])], {}, "no VLLM_API_KEY from a secretKeyRef"),
    ("bucket-private", bucket(), {}, bucket(pab=False), {}, "leaves ['restrictPublicBuckets'] off"),
    ("bucket-encrypted", bucket(), {}, bucket(sse=False), {}, "no default server-side encryption"),
    ("bucket-versioned", bucket(), {}, bucket(versioning="Suspended"), {}, "versioning is not enabled"),
    ("weights-bucket-protected", bucket(), {"require_protect": True}, bucket(protect=False), {"require_protect": True},
     "lacks the protect option"),
    ("model-fit", [node_group(), deployment(FIT_8B)], {"models": MODELS, **REGION},
     [node_group(), deployment(FIT_8B)], {"models": {"llama-8b": {**MODELS["llama-8b"], "min_concurrency": 500}}, **REGION},
     "x min concurrency 500 = 4096000"),
    ("usd-per-mtok", [], {"max_usd_per_mtok": 2.0, "planned_usd_per_mtok": {"llama-70b": 1.5}},
     [], {"max_usd_per_mtok": 2.0, "planned_usd_per_mtok": {"llama-70b": 2.5}},
     "llama-70b: $2.500/Mtok (input + output) at its planned traffic vs ceiling $2.00"),
    ("input-risks", [], {"risky_settings": []}, [], {"risky_settings": ["gpuinfra:models[0].canary.percent 0 sends no traffic"]},
     "canary.percent 0 sends no traffic"),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name, good, good_cfg, bad, bad_cfg, text", CASES, ids=IDS)
def test_rule_module(name, good, good_cfg, bad, bad_cfg, text):
    assert run_offline(name, good, good_cfg) == []
    messages = run_offline(name, bad, bad_cfg)
    assert any(text in m for m in messages), messages


@pytest.mark.parametrize("name, good, good_cfg, bad, bad_cfg, text", CASES, ids=IDS)
def test_crossguard_validate(name, good, good_cfg, bad, bad_cfg, text):
    assert run_pack(name, good, good_cfg) == []
    reported = run_pack(name, bad, bad_cfg)
    assert any(text in m for m, _ in reported), reported


def test_every_rule_has_a_case():
    from policies.rules import RULES

    assert sorted(r.name for r in RULES) == sorted(set(IDS) | {"budget-delta"})


def test_budget_delta_against_a_baseline_plan(tmp_path):
    baseline = tmp_path / "baseline.json"
    from tests.policies.helpers import records
    baseline.write_text(json.dumps({"resources": records([node_group(hi=1)])}))
    cfg = {"baseline_plan": str(baseline), "max_increase_pct": 10.0, **REGION}
    assert run_offline("budget-delta", [node_group(hi=1)], cfg) == []
    messages = run_offline("budget-delta", [node_group(hi=2)], cfg)
    assert messages and "(+100.0%)" in messages[0] and f"-> ${_g6_month(2):,.0f}" in messages[0]
    assert [m for m, _ in run_pack("budget-delta", [node_group(hi=2)], cfg)] == messages


def test_provider_default_tags_count_but_not_for_asg_instances():
    asg = Res("aws:autoscaling/group:Group", "fleet", {"maxSize": 2, "tags": [{"key": "Owner", "value": "t", "propagateAtLaunch": True}]})
    messages = run_offline("cost-tags", [asg], {})
    assert messages and "ASG tags propagated at launch lack ['Environment', 'CostCenter']" in messages[0]


def test_launch_template_instance_tags_are_required():
    lt = Res(LT, "lt", {"tags": TAGS, "tagSpecifications": [{"resourceType": "instance", "tags": TAGS}]})
    assert run_offline("cost-tags", [lt], {}) == ["tagSpecifications for volume lack ['Environment', 'CostCenter', 'Owner'] "
                                                  "(launched volumes are billed apart)"]


def test_idle_watchdog_in_the_region_satisfies_idle_shutdown():
    floor = node_group("l4-on-demand", "ON_DEMAND", lo=1, hi=1, tier="on-demand")
    fn = Res("aws:lambda/function:Function", "wd-fn", {"tags": TAGS}, ("gpuinfra:aws:IdleWatchdog", "wd"))
    cfg = {"require_idle_shutdown": True, **REGION}
    assert run_offline("idle-shutdown", [floor, fn], cfg) == []
    other_region = Res(fn.type, fn.name, fn.props, fn.parent, provider={**AWS_PROVIDER, "region": "us-west-2"})
    assert run_offline("idle-shutdown", [floor, other_region], cfg)


def test_retain_on_delete_is_checked_offline_only():
    """CrossGuard cannot see retainOnDelete: the pack checks protect, the offline plan both."""
    resources = bucket(retain=False)
    assert run_offline("weights-bucket-protected", resources, {"require_protect": True}) == [
        "weights bucket lacks the retainOnDelete option(s): destroying the stack would delete weights"]
    assert run_pack("weights-bucket-protected", resources, {"require_protect": True}) == []


def test_stack_findings_carry_the_resource_urn():
    reported = run_pack("gpu-allow-list", [node_group()], {"allowed_gpus": ["H100"]})
    assert reported[0][1] == node_group().urn()
    reported = run_pack("autoscaling-bounded", [node_group(hi=100)], {"max_nodes_per_rung": 8, **REGION})
    assert reported[0][1] == node_group().urn()


def test_unknown_preview_values_are_skipped_not_fatal():
    from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE
    from tests.policies.helpers import policy_resource
    from policies.pack import view_of
    from pulumi_policy.proxy import unknown_checking_proxy

    res = policy_resource(node_group())
    res.props = unknown_checking_proxy({**node_group().props, "scalingConfig": {"minSize": 0, "maxSize": UNKNOWN_NUMBER_VALUE}})
    view: ResourceView = view_of(res)
    assert view.get("scalingConfig", "maxSize") is None and view.get("capacityType") == "SPOT"
    assert rule("autoscaling-bounded").run([view], REGION)[0].message.endswith("has no maximum node count (set the autoscaling maximum)")


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_rungs_are_identified_from_recorded_labels_and_tags_not_names(stack):
    """Renaming every node-bearing resource changes nothing the rules read: pool and tier come from the node
    labels (EKS, GKE), the ASG tags and the GCE template labels the plan records (issue 16 item 6)."""
    import copy

    from policies.rules.fleet import capacity
    from policies.rules.view import from_records
    from tests.conftest import plan_json

    records = plan_json(stack)["resources"]
    settings = {"aws_region": "us-east-1", "gcp_region": "us-central1"}
    renamed = copy.deepcopy(records)
    for r in renamed:
        r["name"] = f"renamed-{abs(hash(r['name'])) % 10**6}"
    before = [(c.pool, c.tier, c.purchase, c.min_nodes, c.max_nodes) for c in capacity(from_records(records), settings)]
    after = [(c.pool, c.tier, c.purchase, c.min_nodes, c.max_nodes) for c in capacity(from_records(renamed), settings)]
    gpu = [row for row in before if row[0] not in (None, "system")]
    assert gpu and all(row[0] for row in gpu), before
    assert after == before
