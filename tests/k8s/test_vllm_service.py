"""Recorded serving resources under Pulumi mocks: what a reviewer checks on the Deployments, add-ons and routing."""
from __future__ import annotations

import pytest

from components.catalog.versions import chart, image, vllm_image, vllm_version
from components.k8s.manifests.autoscaling import METRIC
from components.plan.lifecycle import grace_plan
from components.k8s.manifests.weights import EKS_CACHE_HOST_PATH, RUN_AS
from components.plan.workloads import replica_bounds
from components.plan.names import cluster_name
from components.plan.scheduling import GPU_TAINT, serving_service_account
from components.plan.sizing import plan_serving
from components.plan.storage import NVME_MOUNT
from components.spec import load_stack_spec
from tests.conftest import encode, raw_stack
from tests.k8s.helpers import (
    container, depends_on_names, kind, named, of_type, pod, run_fixture, variant,
)

RELEASE = "kubernetes:helm.sh/v3:Release"


def spec_of(stack: str, raw: dict | None = None):
    return load_stack_spec(*encode(raw if raw is not None else raw_stack(stack)))


def k8s_pairs(spec) -> list[tuple[str, str, str]]:
    """(model, pool, cloud) served on Kubernetes, derived from the spec."""
    modes = {"aws": spec.aws.mode if spec.aws else None, "gcp": spec.gcp.mode if spec.gcp else None}
    return [(p.model, p.pool, p.cloud) for p in plan_serving(spec) if modes[p.cloud] in ("eks", "gke") and p.fits]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_one_vllm_service_per_model_and_pool(stack, request):
    run = request.getfixturevalue(f"{stack}_run")
    spec = spec_of(stack)
    pairs = k8s_pairs(spec)
    canaries = sum(1 for model, _, _ in pairs if next(m for m in spec.models if m.name == model).canary)
    assert len(of_type(run, "gpuinfra:k8s:VllmService")) == len(pairs)
    assert len(kind(run, "Deployment")) == len(pairs) + canaries
    clusters = {(cloud, spec.pool_region(cloud, spec.pool(pool)[1])) for _, pool, cloud in pairs}
    assert len(of_type(run, "gpuinfra:k8s:ServingCluster")) == len(clusters)


def test_every_serving_object_uses_its_clusters_provider(prod_run):
    spec = spec_of("prod")
    for model, pool, cloud in k8s_pairs(spec):
        region = spec.pool_region(cloud, spec.pool(pool)[1])
        deployment = named(kind(prod_run, "Deployment"), f"{model}-{pool}-stable")
        assert deployment.options["provider"].startswith(cluster_name("prod", cloud, region) + "-k8s")


def test_device_plugin_only_on_eks(prod_run):
    releases = [r for r in of_type(prod_run, RELEASE) if r.inputs["chart"] == "nvidia-device-plugin"]
    assert {r.options["provider"].split("::")[0] for r in releases} == {
        f"{cluster_name('prod', 'aws', region)}-k8s" for region in ("us-east-1", "us-west-2")}
    pinned = chart("nvidia-device-plugin")
    for release in releases:
        assert (release.inputs["version"], release.inputs["repositoryOpts"]["repo"]) == (pinned.version, pinned.repo)
        tolerations = release.inputs["values"]["tolerations"]
        assert {"key": GPU_TAINT["key"], "operator": "Exists", "effect": "NoSchedule"} in tolerations
        terms = release.inputs["values"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert terms["nodeSelectorTerms"][0]["matchExpressions"][0]["key"] == "gpuinfra.dev/gpu"


def test_keda_release_precedes_scaled_objects(prod_run):
    keda = [r for r in of_type(prod_run, RELEASE) if r.inputs["chart"] == "keda"]
    assert len(keda) == 3 and all(r.inputs["version"] == chart("keda").version for r in keda)
    for scaled in kind(prod_run, "ScaledObject"):
        assert any(name.endswith("-serving-keda") for name in depends_on_names(scaled))


def test_service_monitors_follow_the_operator_and_its_selector(prod_run):
    operators = {r.name for r in of_type(prod_run, RELEASE) if r.inputs["chart"] == "kube-prometheus-stack"}
    mine = [m for m in kind(prod_run, "ServiceMonitor") if "gpuinfra.dev/model" in m.inputs["metadata"]["labels"]]
    assert len(mine) == len(k8s_pairs(spec_of("prod")))
    for monitor in mine:
        assert depends_on_names(monitor) & operators  # the CRDs come with the operator's release
        assert monitor.inputs["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        assert monitor.inputs["spec"]["endpoints"][0] == {"port": "http", "path": "/metrics", "interval": "15s"}


def test_dev_deployment_streams_8b_on_one_l4(dev_run):
    deployment = named(kind(dev_run, "Deployment"), "llama-8b-l4-spot-stable")
    vllm, spec = container(deployment), pod(deployment)
    plan = plan_serving(spec_of("dev"))[0]
    assert vllm["image"] == vllm_image()
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == vllm["resources"]["requests"]["nvidia.com/gpu"] == "1"
    args = vllm["args"]
    assert args[args.index("--model") + 1] == "s3://$(WEIGHTS_BUCKET)/llama-8b/0e9e39f249a16976918f6564b8830bc894c89659/"
    assert args[args.index("--load-format") + 1] == "runai_streamer"
    assert "--model-loader-extra-config" not in args  # TP 1: no distributed loading
    assert args[args.index("--port") + 1] == "8000"
    (bucket,) = of_type(dev_run, "aws:s3/bucket:Bucket")  # the bucket the real program created
    assert {"name": "WEIGHTS_BUCKET", "value": bucket.inputs["bucket"]} in vllm["env"]
    assert vllm["env"][0] == {"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {
        "name": "vllm-llama-8b-l4-spot-keys", "key": "VLLM_API_KEY"}}}
    assert spec["nodeSelector"] == {"gpuinfra.dev/pool": "l4-spot"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert "initContainers" not in spec and not any(v["name"] == "dshm" for v in spec["volumes"])
    assert plan.tp == 1 and spec["serviceAccountName"] == serving_service_account("llama-8b")
    assert deployment.options["ignoreChanges"] == ["spec.replicas"]  # KEDA owns the count


def test_pods_are_hardened(prod_run):
    for deployment in kind(prod_run, "Deployment"):
        spec = pod(deployment)
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] == RUN_AS
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        for c in spec["containers"] + spec.get("initContainers", []):
            ctx = c["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"]["drop"] == ["ALL"]
            assert ctx.get("runAsNonRoot", True) or c["name"] == "cache-owner"
            assert c["image"].rsplit(":", 1)[-1] not in ("", "latest")


def test_prod_70b_on_eks_uses_the_nvme_cache_with_tp2(prod_run):
    deployment = named(kind(prod_run, "Deployment"), "llama-70b-h200-use1-stable")
    spec, vllm = pod(deployment), container(deployment)
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == "2"
    args = vllm["args"]
    assert args[args.index("--model") + 1] == f"{NVME_MOUNT}/models/llama-70b/6f6073b423013f6a7d4d9f39144961bfbfbc386b"
    assert args[args.index("--tensor-parallel-size") + 1] == "2"
    assert [c["name"] for c in spec["initContainers"]] == ["cache-owner", "s5cmd-binary", "weights-sync"]
    assert container(deployment, "s5cmd-binary")["image"] == image("s5cmd")
    sync = container(deployment, "weights-sync")
    assert sync["command"][sync["command"].index("--dest") + 1] == args[args.index("--model") + 1]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["weights-cache"]["hostPath"]["path"] == EKS_CACHE_HOST_PATH
    assert volumes["dshm"]["emptyDir"]["medium"] == "Memory" and "sizeLimit" in volumes["dshm"]["emptyDir"]
    assert {"name": "dshm", "mountPath": "/dev/shm"} in vllm["volumeMounts"]
    assert container(deployment, "cache-owner")["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN"]}


def test_prod_70b_on_gke(prod_run):
    deployment = named(kind(prod_run, "Deployment"), "llama-70b-h100-gke-stable")
    spec, vllm = pod(deployment), container(deployment)
    assert "runtimeClassName" not in spec
    assert {"key": "cloud.google.com/gke-spot", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert [c["name"] for c in spec["initContainers"]] == ["weights-sync"]
    assert container(deployment, "weights-sync")["image"] == image("google_cloud_cli")
    assert "--copier" in container(deployment, "weights-sync")["command"]
    cache = next(v for v in spec["volumes"] if v["name"] == "weights-cache")
    assert "emptyDir" in cache and vllm["resources"]["requests"]["ephemeral-storage"].endswith("Gi")
    grace = grace_plan("gcp", True, vllm_version())  # h100-gke has a spot rung: the 15 s GKE notice caps it
    assert spec["terminationGracePeriodSeconds"] == grace.grace_seconds == 15
    assert vllm["lifecycle"]["preStop"]["sleep"]["seconds"] == grace.pre_stop_seconds
    account = named(kind(prod_run, "ServiceAccount"), "llama-70b-h100-gke-service-account")
    # Workload Identity: the pod's Kubernetes account names the Google reader account the program created for it.
    readers = [r for r in of_type(prod_run, "gcp:serviceaccount/account:Account") if "llama-70b" in r.name]
    emails = {r.outputs.get("email") for r in readers}
    assert account.inputs["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] in emails


def test_grace_covers_prestop_everywhere(prod_run):
    for deployment in kind(prod_run, "Deployment"):
        spec = pod(deployment)
        assert spec["terminationGracePeriodSeconds"] >= container(deployment)["lifecycle"]["preStop"]["sleep"]["seconds"]


def test_scaled_object_query_bounds_and_peaks(prod_run):
    spec = spec_of("prod")
    model = next(m for m in spec.models if m.name == "llama-70b")
    plan = next(p for p in plan_serving(spec) if (p.model, p.pool) == ("llama-70b", "h200-usw2"))
    scaled = named(kind(prod_run, "ScaledObject"), "llama-70b-h200-usw2-scaled-object").inputs["spec"]
    low, high = replica_bounds(model, plan)
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (low, high) == (2, 8)  # clamped to the pool
    query = scaled["triggers"][0]["metadata"]["query"]
    assert METRIC in query and 'namespace="llm"' in query and 'model_name="llama-70b"' in query
    # The threshold is the plan's queue target (derived from prod's traffic: no queue_depth_target is set).
    from tests.conftest import stack_plan
    planned = next(p for p in stack_plan("prod").serving if (p.model, p.pool) == ("llama-70b", "h200-usw2"))
    assert model.autoscaling.queue_depth_target is None and planned.traffic is not None
    assert scaled["triggers"][0]["metadata"]["threshold"] == str(planned.queue_depth_target)
    crons = [t for t in scaled["triggers"] if t["type"] == "cron"]
    assert len(crons) == len(model.autoscaling.peak_windows)
    assert crons[0]["metadata"] == {"timezone": "UTC", "start": "0 13 * * 1-5", "end": "0 22 * * 1-5", "desiredReplicas": "4"}
    behavior = scaled["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == model.autoscaling.scale_down_stabilization_seconds
    assert scaled["cooldownPeriod"] == model.autoscaling.scale_down_stabilization_seconds


def test_every_autoscaling_query_filters_model_and_namespace(prod_run, staging_run, dev_run):
    for run in (prod_run, staging_run, dev_run):
        for scaled in kind(run, "ScaledObject"):
            query = scaled.inputs["spec"]["triggers"][0]["metadata"]["query"]
            model = scaled.inputs["metadata"]["labels"]["gpuinfra.dev/model"]
            assert f'model_name="{model}"' in query and 'namespace="llm"' in query


def test_hpa_fallback_without_keda():
    run = run_fixture("dev", variant("dev", serving={"namespace": "llm", "enable_keda": False}))
    assert not kind(run, "ScaledObject") and not [r for r in of_type(run, RELEASE) if r.inputs["chart"] == "keda"]
    (hpa,) = kind(run, "HorizontalPodAutoscaler")
    assert hpa.type == "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
    metric = hpa.inputs["spec"]["metrics"][0]["pods"]
    assert metric["metric"] == {"name": "vllm_num_requests_waiting", "selector": {"matchLabels": {"model_name": "llama-8b"}}}
    assert hpa.inputs["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 900


def test_canary_track_beside_the_stable_one(staging_run):
    # The traffic split is the ModelRouter's (tests/router/test_canary_needs_router.py): no route of its own.
    spec = spec_of("staging")
    canary_spec = spec.models[0].canary
    canary = named(kind(staging_run, "Deployment"), "llama-8b-l4-gke-canary")
    assert canary.inputs["spec"]["replicas"] == canary_spec.replicas
    assert canary.inputs["metadata"]["annotations"]["gpuinfra.dev/revision"] == canary_spec.revision
    assert canary.inputs["metadata"]["name"] == "vllm-llama-8b-l4-gke-canary"
    stable = named(kind(staging_run, "Deployment"), "llama-8b-l4-gke-stable")
    assert stable.inputs["metadata"]["name"] == "vllm-llama-8b-l4-gke"  # the stable name stays
    services = {s.inputs["metadata"]["name"] for s in kind(staging_run, "Service")}
    assert {"vllm-llama-8b-l4-gke", "vllm-llama-8b-l4-gke-canary"} <= services
    assert not [r for r in staging_run.resources if r.inputs.get("kind") == "HTTPRoute"
                and r.parent["type"] == "gpuinfra:k8s:VllmService"]


def test_promotion_is_a_config_change():
    raw = variant("staging")
    model = raw["gpuinfra:models"][0]
    model["revision"] = model.pop("canary")["revision"]  # promote: the canary revision becomes stable
    run = run_fixture("staging", raw)
    backends = {b["name"] for r in run.resources if r.inputs.get("kind") == "HTTPRoute"
                for rule in r.inputs["spec"]["rules"] for b in rule.get("backendRefs", [])}
    assert backends == {"vllm-llama-8b-l4-gke"} and len(kind(run, "Deployment")) == 1
    stable = kind(run, "Deployment")[0]
    assert stable.inputs["metadata"]["annotations"]["gpuinfra.dev/revision"] == "5206a32e0bd3067aef1ce90f5528ade7d866253f"


def test_network_policies(prod_run):
    policies = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in kind(prod_run, "NetworkPolicy")
                if p.inputs["metadata"]["namespace"] == "llm"}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []}
    ingress = policies["vllm-ingress"]["ingress"]
    router = ingress[0]["from"][0]
    assert router["podSelector"]["matchLabels"] == {"app.kubernetes.io/part-of": "gpuinfra-router"}
    assert all(rule["ports"] == [{"protocol": "TCP", "port": 8000}] for rule in ingress)
    assert ingress[1]["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
    dns = policies["allow-dns"]["egress"][0]
    assert {"protocol": "UDP", "port": 53} in dns["ports"]
    egress_ports = {p["port"] for rule in policies["vllm-egress"]["egress"] for p in rule["ports"]}
    assert 443 in egress_ports and 53 not in egress_ports


def test_internal_exposure_goes_through_the_router_when_routing_is_on(prod_run):
    # prod routes every request through the router: no per-model load balancer may bypass its keys and limits
    assert spec_of("prod").serving.routing.enabled and spec_of("prod").serving.exposure == "internal"
    assert not [s for s in kind(prod_run, "Service") if s.inputs["spec"]["type"] == "LoadBalancer"]
    proxies = [r for r in prod_run.resources if r.type.endswith(":EnvoyProxy")]
    assert len({r.name.rsplit("-router", 1)[0] for r in proxies}) == len(proxies) == 3  # one gateway per cluster


def test_internal_exposure_adds_a_load_balancer_without_the_router():
    run = run_fixture("dev", variant("dev", serving={"namespace": "llm", "exposure": "internal"}))
    (lb,) = [s for s in kind(run, "Service") if s.inputs["spec"]["type"] == "LoadBalancer"]
    assert lb.inputs["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"


def test_public_exposure_terminates_tls():
    serving = {"namespace": "llm", "exposure": "public", "public_hostname": "llm.example.com",
               "tls_certificate": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}
    run = run_fixture("dev", variant("dev", serving=serving))
    (lb,) = [s for s in kind(run, "Service") if s.inputs["spec"]["type"] == "LoadBalancer"]
    annotations = lb.inputs["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] == serving["tls_certificate"]
    assert lb.inputs["spec"]["ports"][0]["port"] == 443


def test_pod_disruption_budgets(prod_run):
    budgets = kind(prod_run, "PodDisruptionBudget")
    assert len(budgets) == len(kind(prod_run, "Deployment"))
    assert all(b.inputs["spec"]["maxUnavailable"] == 1 for b in budgets)


def test_router_owns_the_canary_split_when_routing_is_on():
    raw = variant("prod")
    raw["gpuinfra:models"][1]["canary"] = {"revision": "5206a32e0bd3067aef1ce90f5528ade7d866253f", "percent": 5}
    raw["gpuinfra:models"][1]["replicas"] = {"min": 1, "max": 3}  # + 1 canary = the pool's 4 nodes
    run = run_fixture("prod", raw)
    assert named(kind(run, "Deployment"), "llama-8b-l40s-use1-canary").inputs["spec"]["replicas"] == 1
    mine = [r for r in kind(run, "HTTPRoute") if r.parent["type"] == "gpuinfra:k8s:VllmService"]
    assert mine == []  # one route per model match: the ModelRouter's (user-hash canary)
