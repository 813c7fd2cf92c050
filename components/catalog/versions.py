"""Pinned versions (images, charts, Kubernetes, EKS add-ons, AMI parameters) from data/versions.yaml."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

VERSIONS_FILE = Path(__file__).resolve().parent / "data" / "versions.yaml"


@dataclass(frozen=True)
class Chart:
    """A Helm chart pinned to one version."""

    name: str
    repo: str
    chart: str
    version: str


@functools.cache
def versions() -> dict[str, Any]:
    """The raw versions document (cached)."""
    return yaml.safe_load(VERSIONS_FILE.read_text())


def vllm_image(version: str | None = None) -> str:
    """``vllm/vllm-openai:<version>``; default: the pinned version."""
    entry = versions()["vllm"]
    return f"{entry['image']}:{version or entry['version']}"


def vllm_version() -> str:
    """The pinned vLLM release tag, e.g. ``v0.15.1``."""
    return versions()["vllm"]["version"]


def eks_kubernetes_version() -> str:
    """The pinned EKS Kubernetes minor version."""
    return str(versions()["kubernetes"]["eks"])


def eks_ami_release(kubernetes_version: str) -> str:
    """The pinned EKS AL2023 NVIDIA AMI release (``release_version``) for a Kubernetes minor.

    Raises:
        ValueError: No release is pinned for that minor.
    """
    entry = versions()["eks_ami_release"]
    if str(entry["kubernetes"]) != kubernetes_version:
        raise ValueError(f"no EKS AMI release pinned for Kubernetes {kubernetes_version} "
                         f"(versions.yaml eks_ami_release is for {entry['kubernetes']})")
    return str(entry["al2023_x86_64_nvidia"])


def ami_parameter(kind: str, **fields: str) -> str:
    """The public SSM parameter path of an AMI kind, e.g. ``dlami_base_gpu_al2023``."""
    return versions()["ami_parameters"][kind].format(**fields)


def chart(name: str) -> Chart:
    """A pinned Helm chart by its key in the ``charts`` section."""
    entry = versions()["charts"][name]
    return Chart(name=name, repo=entry["repo"], chart=entry["chart"], version=str(entry["version"]))


def eks_addon(name: str) -> str:
    """The pinned EKS add-on version (``vX.Y.Z-eksbuild.N``) for the pinned Kubernetes version."""
    return str(versions()["eks_addons"][name])


def image(name: str) -> str:
    """A pinned container image ``repo:tag`` from the ``images`` section."""
    entry = versions()["images"][name]
    return f"{entry['repo']}:{entry['tag']}"
