"""AWS Load Balancer Controller on EKS: which clusters need it, its Pod Identity policy and its Helm values."""
from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.catalog.versions import chart
from components.plan import names
from components.spec import StackSpec

#: The controller's documented IAM policy, vendored verbatim (source, tag and licence in SOURCE.md beside it).
POLICY_FILE = Path(__file__).resolve().parent / "data" / "aws_load_balancer_controller" / "iam_policy.json"
NAMESPACE = "kube-system"
#: The chart creates this ServiceAccount (``serviceAccount.create`` + ``name``, templates/_helpers.tpl
#: ``serviceAccountName`` at v3.5.0); the Pod Identity association names the same one.
SERVICE_ACCOUNT = "aws-load-balancer-controller"
CHART_KEY = "aws-load-balancer-controller"


@dataclass(frozen=True)
class LoadBalancerControllerPlan:
    """The controller of one EKS cluster.

    Attributes:
        cluster / region: The EKS cluster it runs in.
        namespace / service_account: Where it runs and the identity its Pod Identity association binds.
        release: Helm release name; chart: key of the pinned chart in versions.yaml.
        values: Helm values except ``vpcId`` (a deploy-time id the component adds).
        policy: The controller's IAM policy document.
    """

    cluster: str
    region: str
    namespace: str
    service_account: str
    release: str
    chart: str
    values: Mapping[str, Any]
    policy: Mapping[str, Any]


@functools.cache
def controller_policy() -> dict[str, Any]:
    """The vendored ``docs/install/iam_policy.json`` of the pinned controller release."""
    return json.loads(POLICY_FILE.read_text())


def controller_values(cluster: str, region: str) -> dict[str, Any]:
    """Helm values: the cluster name (required by the chart), the region set explicitly because the pods get
    credentials from Pod Identity and need not reach IMDS (docs/deploy/installation.md at v3.5.0, "Using IMDSv2":
    ``--aws-region`` / ``--aws-vpc-id`` instead of metadata introspection). The component adds ``vpcId``."""
    return {"clusterName": cluster, "region": region,
            "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
            # The Service mutator (templates/webhook.yaml at v3.5.0: every Service CREATE, failurePolicy Fail)
            # would make all Service creation in the cluster fail whenever the controller's pods are down. Our
            # Services do not need it: `aws-load-balancer-type: external` with `aws-load-balancer-nlb-target-type`
            # hands them to this controller (docs/guide/service/nlb.md at v3.5.0, "in-tree controller ignores").
            "enableServiceMutatorWebhook": False}


def needs_controller(spec: StackSpec) -> bool:
    """True when the stack renders Services annotated ``aws-load-balancer-type: external`` on EKS: per-model
    LoadBalancer Services and the router's Envoy Service both do for ``internal`` and ``public`` exposure
    (components/k8s/manifests/access.py, router.py)."""
    return spec.aws is not None and spec.aws.mode == "eks" and spec.serving.exposure != "cluster-ip"


def plan_lb_controllers(spec: StackSpec) -> dict[str, LoadBalancerControllerPlan]:
    """The controller of every EKS cluster that renders such Services, by region (empty otherwise)."""
    if not needs_controller(spec):
        return {}
    chart(CHART_KEY)  # fail at plan time on a missing pin, not half-way through a deploy
    out = {}
    for region in dict.fromkeys(spec.pool_regions("aws")):
        cluster = names.cluster_name(spec.environment, "aws", region)
        out[region] = LoadBalancerControllerPlan(
            cluster=cluster, region=region, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT,
            release=CHART_KEY, chart=CHART_KEY, values=controller_values(cluster, region), policy=controller_policy())
    return out
