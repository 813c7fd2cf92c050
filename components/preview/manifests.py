"""Kubernetes objects a run registered, written as YAML files (one per object, secrets redacted)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from components.preview.k8s_outputs import CLUSTER_SCOPED_KINDS
from components.preview.recorder import ResourceRecord
from components.preview.run import PlanRun
from components.preview.values import REDACTED

# Token groups that are not API objects: Helm releases and charts, YAML and Kustomize bundles.
NON_OBJECT_GROUPS = ("helm.sh", "yaml", "kustomize")
CUSTOM_RESOURCE_TOKEN = "kubernetes:apiextensions.k8s.io:CustomResource"
TOKEN = re.compile(r"^kubernetes:(?P<group>[^/:]+)/(?P<version>[^/:]+):(?P<kind>\w+)$")


def is_k8s_object(record: ResourceRecord) -> bool:
    """Tell whether a record is a Kubernetes API object (not a provider, release, chart or bundle).

    Args:
        record: A recorded registration.

    Returns:
        True for custom resources typed ``kubernetes:<group>/<version>:<Kind>`` or ``CustomResource``.
    """
    if not record.custom:
        return False
    if record.type == CUSTOM_RESOURCE_TOKEN:
        return True
    match = TOKEN.match(record.type)
    return bool(match) and not match["group"].startswith(NON_OBJECT_GROUPS)


def api_version_of(token: str) -> str:
    """Return the apiVersion for a type token (``core`` is the legacy group: ``v1``).

    Args:
        token: ``kubernetes:<group>/<version>:<Kind>``.

    Returns:
        ``v1`` or ``<group>/<version>``.
    """
    match = TOKEN.match(token)
    if not match:
        raise ValueError(f"not a Kubernetes object token: {token!r}")
    return match["version"] if match["group"] == "core" else f"{match['group']}/{match['version']}"


def manifest(record: ResourceRecord) -> dict[str, Any]:
    """Build the object as applied: inputs, apiVersion/kind from the token when absent, the
    auto-generated name when absent, Secret ``data``/``stringData`` values replaced by ``[secret]``.

    Args:
        record: A Kubernetes object record.

    Returns:
        The object with ``apiVersion``, ``kind``, ``metadata`` first.
    """
    inputs = dict(record.inputs)
    api_version = inputs.pop("apiVersion", None) or api_version_of(record.type)
    kind = inputs.pop("kind", None) or record.type.rsplit(":", 1)[-1]
    metadata = dict(inputs.pop("metadata", None) or {})
    if not metadata.get("name"):
        metadata["name"] = (record.outputs.get("metadata") or {}).get("name", record.name)
    if kind == "Secret":
        for key in ("data", "stringData"):
            if isinstance(inputs.get(key), dict):
                inputs[key] = {k: REDACTED for k in inputs[key]}
            elif key in inputs:
                # The whole map is a secret (its keys are unknown too): keep the schema's shape, a map.
                inputs[key] = {"redacted": REDACTED}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **inputs}


def file_name(obj: dict[str, Any]) -> str:
    """Return ``<kind>-<namespace or cluster>-<name>.yaml``, lowercased.

    Args:
        obj: A manifest from ``manifest``.

    Returns:
        The file name.
    """
    meta = obj["metadata"]
    scope = "cluster" if obj["kind"] in CLUSTER_SCOPED_KINDS else meta.get("namespace") or "default"
    return re.sub(r"[^a-z0-9.\-]+", "-", f"{obj['kind']}-{scope}-{meta['name']}".lower()) + ".yaml"


def render_k8s(run: PlanRun, out_dir: str | Path) -> list[Path]:
    """Write every Kubernetes object of the run under ``<out_dir>/<provider name>/``.

    The provider directory keeps objects of different clusters apart (``default`` for the default
    provider); a clash inside one directory gets a ``-2``, ``-3`` suffix.

    Args:
        run: A finished run.
        out_dir: Target directory (created).

    Returns:
        The files written, in record order.
    """
    root = Path(out_dir)
    written: list[Path] = []
    for record in run.resources:
        if not is_k8s_object(record):
            continue
        obj = manifest(record)
        folder = root / re.sub(r"[^A-Za-z0-9.\-_]+", "-", record.options.get("provider") or "default")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / file_name(obj)
        serial = 2
        while path in written:
            path = folder / file_name(obj).replace(".yaml", f"-{serial}.yaml")
            serial += 1
        path.write_text(yaml.safe_dump(obj, sort_keys=False, default_flow_style=False))
        written.append(path)
    return written
