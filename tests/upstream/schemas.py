"""Vendored CRD schemas (tests/upstream/crds/) turned into strict JSON Schemas: structural schemas refuse
unknown fields (as the API server does under strict field validation), except where the CRD says
``x-kubernetes-preserve-unknown-fields``."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import jsonschema

CRDS = Path(__file__).resolve().parent / "crds"


def _strict(node):
    """Copy an openAPIV3Schema node as JSON Schema: closed objects, int-or-string, nullable."""
    if isinstance(node, list):
        return [_strict(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in node and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    return out


@functools.cache
def crd(api_version: str, kind: str) -> tuple[dict, dict]:
    """(source, strict schema) of a vendored CRD; KeyError when none is vendored for that apiVersion/kind."""
    group, version = api_version.split("/")
    path = CRDS / f"{group}_{version}_{kind}.json"
    if not path.exists():
        raise KeyError(f"no vendored CRD for {api_version} {kind} (add it to tests/upstream/tools/vendor_crds.py)")
    doc = json.loads(path.read_text())
    schema = _strict(doc["schema"])
    # Object metadata is validated by the API server itself, not by the CRD schema.
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    return doc["source"], schema


def errors(obj: dict) -> list[str]:
    """Schema errors of one rendered custom resource, each as ``<path>: <message>``."""
    _, schema = crd(obj["apiVersion"], obj["kind"])
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))]
