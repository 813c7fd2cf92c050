"""Safety guardrails: IMDSv2, no public IPs, no open ingress, pinned images, the vLLM API key from a secret."""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from components.catalog.versions import versions
from policies.rules.base import Rule
from policies.rules.view import ResourceView, dig, user_data_text

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
GCE_TEMPLATES = ("gcp:compute/instanceTemplate:InstanceTemplate", "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
                 "gcp:compute/instance:Instance")
OPEN = ("0.0.0.0/0", "::/0")
#: Pod spec location per workload kind.
POD_SPEC = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
_LATEST = re.compile(r"[\w.\-/]+:latest\b")
_SECRET_FETCH = ("secretsmanager get-secret-value", "secrets versions access")


def check_imdsv2(view: ResourceView, s: Mapping[str, Any]) -> Iterator[str]:
    """Launch templates and instances require IMDSv2 session tokens (metadataOptions.httpTokens = required)."""
    if view.type in (LAUNCH_TEMPLATE, "aws:ec2/instance:Instance"):
        tokens = view.get("metadataOptions", "httpTokens")
        if tokens != "required":
            yield f"metadataOptions.httpTokens is {tokens!r}: IMDSv2 must be required"


def check_public_ip(view: ResourceView, s: Mapping[str, Any]) -> Iterator[str]:
    """No instance template gets a public address: LT interfaces, GCE access configs, GKE private nodes."""
    if view.type in (LAUNCH_TEMPLATE, "aws:ec2/instance:Instance"):
        if str(view.get("associatePublicIpAddress", default="false")).lower() == "true":
            yield "associatePublicIpAddress is true"
        for i, nic in enumerate(view.get("networkInterfaces", default=[])):
            if str(nic.get("associatePublicIpAddress", "false")).lower() == "true":
                yield f"networkInterfaces[{i}].associatePublicIpAddress is true"
    elif view.type in GCE_TEMPLATES:
        for i, nic in enumerate(view.get("networkInterfaces", default=[])):
            if nic.get("accessConfigs") or nic.get("ipv6AccessConfigs"):
                yield f"networkInterfaces[{i}] has access configs (an external IP): remove them"
    elif view.type == "gcp:container/cluster:Cluster":
        if not view.get("privateClusterConfig", "enablePrivateNodes"):
            yield "privateClusterConfig.enablePrivateNodes is not true: nodes would get external IPs"


def _open(ranges: Any) -> list[str]:
    return [r for r in (ranges or []) if r in OPEN]


def check_open_ingress(view: ResourceView, s: Mapping[str, Any]) -> Iterator[str]:
    """No ingress from 0.0.0.0/0 or ::/0 (security groups, their rules, GCP firewalls, public EKS endpoints)."""
    t = view.type
    if t == "aws:ec2/securityGroup:SecurityGroup":
        for i, rule in enumerate(view.get("ingress", default=[])):
            if bad := _open((rule.get("cidrBlocks") or []) + (rule.get("ipv6CidrBlocks") or [])):
                yield f"ingress[{i}] (port {rule.get('fromPort')}) allows {bad}"
    elif t == "aws:ec2/securityGroupRule:SecurityGroupRule" and view.get("type") == "ingress":
        if bad := _open(view.get("cidrBlocks", default=[]) + view.get("ipv6CidrBlocks", default=[])):
            yield f"ingress rule (port {view.get('fromPort')}) allows {bad}"
    elif t == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        if bad := _open([view.get("cidrIpv4"), view.get("cidrIpv6")]):
            yield f"ingress rule (port {view.get('fromPort')}) allows {bad}"
    elif t == "gcp:compute/firewall:Firewall" and view.get("direction", default="INGRESS") == "INGRESS":
        if view.get("allows") and (bad := _open(view.get("sourceRanges", default=[]))) and not view.get("disabled"):
            yield f"firewall allows ingress from {bad}"
    elif t == "aws:eks/cluster:Cluster" and view.get("vpcConfig", "endpointPublicAccess", default=True):
        cidrs = view.get("vpcConfig", "publicAccessCidrs", default=[])
        if not cidrs or _open(cidrs):
            yield "the public API endpoint is open to 0.0.0.0/0 (set publicAccessCidrs or make it private)"


def _image_problem(image: Any) -> str:
    if not isinstance(image, str) or not image:
        return ""
    if "@sha256:" in image:
        return ""
    tail = image.rsplit("/", 1)[-1]
    if ":" not in tail:
        return f"image {image} has no tag (floats on latest)"
    if tail.endswith(":latest"):
        return f"image {image} uses the latest tag"
    return ""


def containers(view: ResourceView) -> list[Mapping[str, Any]]:
    spec = view.get(*POD_SPEC[view.type], default={}) if view.type in POD_SPEC else {}
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def _helm_images(values: Any, path: str = "values") -> Iterator[str]:
    """``tag: latest`` and ``image: x:latest`` anywhere in Helm values (an empty tag means the chart's appVersion)."""
    if isinstance(values, Mapping):
        for key, value in values.items():
            if key == "tag" and str(value) == "latest":
                yield f"{path}.tag is latest"
            else:
                yield from _helm_images(value, f"{path}.{key}")
    elif isinstance(values, list):
        for i, value in enumerate(values):
            yield from _helm_images(value, f"{path}[{i}]")
    elif isinstance(values, str) and _LATEST.fullmatch(values):
        yield f"{path} is {values}"


def boot_script(view: ResourceView) -> str:
    """The boot script a VM template runs (LT user data, GCE startup script), decoded."""
    if view.type == LAUNCH_TEMPLATE:
        return user_data_text(view.get("userData"))
    if view.type in GCE_TEMPLATES:
        return str(view.get("metadataStartupScript") or view.get("metadata", "startup-script") or "")
    return ""


def check_images_pinned(view: ResourceView, s: Mapping[str, Any]) -> Iterator[str]:
    """Workload images carry a tag other than latest (or a digest); Helm releases pin a chart version."""
    for c in containers(view):
        if problem := _image_problem(c.get("image")):
            yield f"container {c.get('name')}: {problem}"
    if view.type == HELM_RELEASE:
        if not view.get("version"):
            yield f"chart {view.get('chart')} has no pinned version"
        yield from _helm_images(view.get("values", default={}))
    for match in sorted(set(_LATEST.findall(boot_script(view)))):
        yield f"boot script runs {match}"


def vllm_repo() -> str:
    return str(versions()["vllm"]["image"])


def check_api_key(view: ResourceView, s: Mapping[str, Any]) -> Iterator[str]:
    """vLLM containers take VLLM_API_KEY from a Secret; VM boot scripts fetch it from the secret store."""
    repo = vllm_repo()
    for c in containers(view):
        if str(c.get("image", "")).rsplit(":", 1)[0].split("@")[0] != repo:
            continue
        env = {e.get("name"): e for e in c.get("env") or []}
        key = env.get("VLLM_API_KEY")
        if key is None or not dig(key, "valueFrom", "secretKeyRef", "name"):
            yield f"vLLM container {c.get('name')} has no VLLM_API_KEY from a secretKeyRef (the API would be open)"
        elif key.get("value"):
            yield f"vLLM container {c.get('name')} sets VLLM_API_KEY as a literal value"
    script = boot_script(view)
    if repo in script and not any(f in script for f in _SECRET_FETCH):
        yield "the boot script runs vLLM without fetching its API key from the secret store"


RULES = [
    Rule("imdsv2-required", "Launch templates require IMDSv2.", "mandatory", "resource", check_imdsv2),
    Rule("no-public-ip", "No instance gets a public IP (launch templates, instance templates, GKE nodes).",
         "mandatory", "resource", check_public_ip),
    Rule("no-open-ingress", "No ingress from 0.0.0.0/0 or ::/0.", "mandatory", "resource", check_open_ingress),
    Rule("images-pinned", "Images and charts are pinned (no latest, no untagged image).", "mandatory", "resource",
         check_images_pinned),
    Rule("vllm-api-key", "vLLM serves only with an API key from a secret.", "mandatory", "resource", check_api_key),
]
