"""The real pack process, served over gRPC as `pulumi preview --policy-pack` drives it, over the recorded prod plan."""
from __future__ import annotations

import copy
import json
import os
import select
import subprocess
import sys

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as pb
from pulumi.runtime.proto import analyzer_pb2_grpc

from policies.rules import RULES
from tests.conftest import ROOT, plan_json

RUN_PACK = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory):
    """Start policies/ as the CLI does (the directory as the program, cwd elsewhere, no repo on PYTHONPATH)."""
    env = {**os.environ, "PYTHONPATH": ""}
    proc = subprocess.Popen([sys.executable, "-c", RUN_PACK, str(ROOT / "policies")], cwd=tmp_path_factory.mktemp("cwd"),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the pack printed no port"
        port = proc.stdout.readline().strip()
        assert port.isdigit(), (port, proc.stderr.read() if proc.poll() is not None else "")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _struct(values: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(json.loads(json.dumps(values, default=str)))
    return s


def _configure(stub, config: dict) -> None:
    """As the CLI does: each policy's level is the config's ``enforcementLevel``, else the policy's default."""
    levels = {"mandatory": pb.MANDATORY, "advisory": pb.ADVISORY}
    defaults = {r.name: r.level for r in RULES}
    request = pb.ConfigureAnalyzerRequest()
    for name, section in config.items():
        props = {k: v for k, v in section.items() if k != "enforcementLevel"}
        level = levels[section.get("enforcementLevel", defaults[name])]
        request.policyConfig[name].CopyFrom(pb.PolicyConfig(enforcementLevel=level, properties=_struct(props)))
    stub.Configure(request)


def _urn(typ: str, name: str) -> str:
    return f"urn:pulumi:prod::gpuinfra::{typ}::{name}"


def _resources(doc: dict) -> list[pb.AnalyzerResource]:
    providers = {r["name"]: r for r in doc["resources"] if r["type"].startswith("pulumi:providers:")}
    out = []
    for r in doc["resources"]:
        opts = r["options"]
        parent = _urn(r["parent"]["type"], r["parent"]["name"]) if r["parent"] else ""
        res = pb.AnalyzerResource(type=r["type"], urn=_urn(r["type"], r["name"]), name=r["name"], parent=parent,
                                  properties=_struct(r["inputs"]),
                                  options=pb.AnalyzerResourceOptions(protect=bool(opts.get("protect")), parent=parent))
        if (p := providers.get(opts.get("provider") or "")) is not None:
            res.provider.CopyFrom(pb.AnalyzerProviderResource(type=p["type"], urn=_urn(p["type"], p["name"]),
                                                              name=p["name"], properties=_struct(p["inputs"])))
        out.append(res)
    return out


def _mandatory(response) -> list[str]:
    return [f"{d.policyName}: {d.message}" for d in response.diagnostics if d.enforcementLevel == pb.MANDATORY]


def test_the_pack_registers_every_rule(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "gpuinfra-guardrails"
    assert [p.name for p in info.policies] == [r.name for r in RULES]
    budget = next(p for p in info.policies if p.name == "budget-worst-case")
    assert budget.enforcementLevel == pb.MANDATORY and "budget_usd" in budget.configSchema.properties
    assert list(budget.configSchema.required) == ["budget_usd"]  # the CLI refuses to run the pack without a budget


def test_prod_passes_and_an_over_budget_prod_fails_through_the_pack(analyzer):
    doc = plan_json("prod")
    config = json.loads((ROOT / "policies" / "config.prod.json").read_text())
    resources = _resources(doc)
    _configure(analyzer, config)
    stack = analyzer.AnalyzeStack(pb.AnalyzeStackRequest(resources=resources))
    per_resource = [m for r in resources if not r.type.startswith("pulumi:")
                    for m in _mandatory(analyzer.Analyze(pb.AnalyzeRequest(type=r.type, properties=r.properties, urn=r.urn,
                                                                               name=r.name, options=r.options, provider=r.provider)))]
    assert _mandatory(stack) == [] and per_resource == []
    low = copy.deepcopy(config)
    low["budget-worst-case"]["budget_usd"] = 100_000
    _configure(analyzer, low)
    failing = _mandatory(analyzer.AnalyzeStack(pb.AnalyzeStackRequest(resources=resources)))
    assert len(failing) == 1 and failing[0].startswith("budget-worst-case: ") and "vs budget $100,000" in failing[0], failing
    assert "\nworst-case $" in failing[0]  # CrossGuard prints the description, then the rule's message
