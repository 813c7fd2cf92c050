"""Cost allocation: Environment/CostCenter/Owner tags (AWS) and labels (GCP) on every taggable resource."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.rules.base import Rule, prop
from policies.rules.view import ResourceView, dig

#: Cost-bearing types that must carry tags even when the program sets none (a missing ``tags`` input is
#: the failure to catch). Other AWS/GCP resources are checked when they set tags/labels at all.
AWS_MUST_TAG = frozenset({
    "aws:ec2/launchTemplate:LaunchTemplate", "aws:eks/nodeGroup:NodeGroup", "aws:autoscaling/group:Group",
    "aws:ec2/capacityReservation:CapacityReservation", "aws:ec2/capacityBlockReservation:CapacityBlockReservation",
    "aws:eks/cluster:Cluster", "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2", "aws:lambda/function:Function",
    "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip", "aws:lb/loadBalancer:LoadBalancer", "aws:kms/key:Key",
    "aws:ec2/instance:Instance",
})
#: GCP types and where their cost labels live (GKE node VMs take ``nodeConfig.resourceLabels``).
GCP_LABEL_PATHS: dict[str, tuple[str, ...]] = {
    "gcp:compute/instanceTemplate:InstanceTemplate": ("labels",),
    "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate": ("labels",),
    "gcp:container/nodePool:NodePool": ("nodeConfig", "resourceLabels"),
    "gcp:container/cluster:Cluster": ("resourceLabels",),
    "gcp:storage/bucket:Bucket": ("labels",),
    "gcp:compute/forwardingRule:ForwardingRule": ("labels",),
    "gcp:compute/instance:Instance": ("labels",),
}
#: The AWS provider's default_tags reach every resource with a ``tags`` input except these: an ASG's tags
#: are its own list (propagated to instances), and instances launched from a template take the template's
#: tag specifications, not the provider's defaults.
NO_DEFAULT_TAGS = frozenset({"aws:autoscaling/group:Group"})


def _missing(found: Mapping[str, Any], keys: list[str], environment: str | None, env_key: str) -> list[str]:
    bad = [k for k in keys if not found.get(k)]
    if environment and found.get(env_key) and found.get(env_key) != environment:
        bad.append(f"{env_key}={found.get(env_key)} (expected {environment})")
    return bad


def _aws(view: ResourceView, s: Mapping[str, Any]) -> Iterator[str]:
    keys, env = list(s["aws_tag_keys"]), s.get("environment")
    has_tags = "tags" in view.props
    if view.type not in AWS_MUST_TAG and not has_tags:
        return
    if view.type == "aws:autoscaling/group:Group":
        own = {t.get("key"): t.get("value") for t in view.get("tags", default=[]) if t.get("propagateAtLaunch")}
        if bad := _missing(own, keys, env, keys[0]):
            yield f"ASG tags propagated at launch lack {bad} (provider default tags do not reach ASG instances)"
        return
    defaults = dig(view.provider, "defaultTags", "tags", default={}) if view.type not in NO_DEFAULT_TAGS else {}
    tags = {**defaults, **(view.get("tags", default={}) or {})}
    if bad := _missing(tags, keys, env, keys[0]):
        yield f"tags (with the provider's default tags) lack {bad}"
    if view.type == "aws:ec2/launchTemplate:LaunchTemplate":
        specs = {t.get("resourceType"): t.get("tags") or {} for t in view.get("tagSpecifications", default=[])}
        for kind in ("instance", "volume"):
            if bad := _missing(specs.get(kind, {}), keys, env, keys[0]):
                yield f"tagSpecifications for {kind} lack {bad} (launched {kind}s are billed apart)"


def _gcp(view: ResourceView, s: Mapping[str, Any]) -> Iterator[str]:
    path = GCP_LABEL_PATHS.get(view.type)
    if path is None:
        return
    keys, env = list(s["gcp_label_keys"]), s.get("environment")
    labels = {**dig(view.provider, "defaultLabels", default={}), **(view.get(*path, default={}) or {})}
    if bad := _missing(labels, keys, env, keys[0]):
        yield f"{'.'.join(path)} (with the provider's default labels) lack {bad}"


def check_cost_tags(view: ResourceView, s: Mapping[str, Any]) -> Iterator[str]:
    """AWS taggable resources carry the cost tags (provider default tags count); GCP ones the cost labels."""
    if view.type.startswith("aws:"):
        yield from _aws(view, s)
    elif view.type.startswith("gcp:"):
        yield from _gcp(view, s)


RULES = [
    Rule("cost-tags", "Taggable resources carry Environment/CostCenter/Owner tags or environment/cost-center/owner labels.",
         "mandatory", "resource", check_cost_tags,
         {"aws_tag_keys": prop("array", ["Environment", "CostCenter", "Owner"], "Required AWS tag keys",
                               items={"type": "string"}),
          "gcp_label_keys": prop("array", ["environment", "cost-center", "owner"], "Required GCP label keys",
                                 items={"type": "string"}),
          "environment": prop("string", None, "Expected value of the environment tag/label")}),
]
