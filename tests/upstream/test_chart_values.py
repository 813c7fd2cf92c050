"""Every Helm value the program passes exists in the pinned chart's values (tests/upstream/charts/, sources in
each source.json and tests/upstream/SOURCE.md), and chart-specific behaviour the values rely on holds."""
from __future__ import annotations

import re
import shlex

import pytest

from components.catalog.versions import versions
from tests.upstream.chart_values import (
    FREE_FORM,
    SUBCHARTS,
    chart_dir,
    conditions,
    defaults,
    lookup,
    source,
    unknown_keys,
)


def releases(rendered) -> list[tuple[str, dict]]:
    return [(r.label, rel["inputs"]) for r in rendered.values() for rel in r.helm_releases()]


def chart_errors(chart: str, values: dict) -> list[str]:
    directory = chart_dir(chart)
    name = directory.name
    top = defaults(directory)
    errors = unknown_keys({k: v for k, v in values.items() if k not in SUBCHARTS.get(name, ())}, top,
                          FREE_FORM.get(name))
    errors = [e for e in errors if e not in conditions(directory)]
    for sub in SUBCHARTS.get(name, ()):
        if sub in values:  # the parent's overrides and the subchart's own defaults both count
            errors += unknown_keys(values[sub], [top.get(sub) or {}, defaults(directory / sub)], prefix=f"{sub}.")
    if name == "gateway-helm":
        tags = set((directory / "envoygateway_json_tags.txt").read_text().split("\n")[1:]) - {""}
        errors += [f"config.envoyGateway.{k}" for k in _all_keys(lookup(values, "config.envoyGateway")) if k not in tags]
    return errors


def _all_keys(tree) -> list[str]:
    out = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            out += [key, *_all_keys(value)]
    return out


def test_every_release_is_a_vendored_chart_at_its_pin(rendered):
    pins = {c["chart"]: c["version"] for c in versions()["charts"].values()}
    seen = set()
    for _, inputs in releases(rendered):
        chart = inputs["chart"].rsplit("/", 1)[-1]
        assert inputs["version"] == pins[chart]
        assert chart_dir(chart).exists(), f"{chart}: not vendored (tests/upstream/tools/vendor_charts.py)"
        seen.add(chart)
    assert {"kube-prometheus-stack", "dcgm-exporter", "keda", "cluster-autoscaler", "gateway-helm",
            "body-based-routing", "nvidia-device-plugin", "aws-load-balancer-controller"} <= seen


def test_every_values_key_exists_in_its_chart(rendered):
    failures = []
    for label, inputs in releases(rendered):
        failures += [f"{label} {inputs['chart']}: {k}" for k in chart_errors(inputs["chart"], inputs.get("values") or {})]
    assert not failures, "keys the chart does not have:\n" + "\n".join(sorted(set(failures)))


@pytest.mark.parametrize("chart, values, bad", [
    ("dcgm-exporter", {"serviceMonitor": {"enabled": True, "intervall": "15s"}}, "serviceMonitor.intervall"),
    ("dcgm-exporter", {"mapPodsMetrics": True}, "mapPodsMetrics"),  # the old key: no such value in the chart
    ("kube-prometheus-stack", {"prometheus": {"prometheusSpec": {"retension": "7d"}}}, "prometheus.prometheusSpec.retension"),
    ("kube-prometheus-stack", {"grafana": {"admin": {"existingSecrets": "x"}}}, "grafana.admin.existingSecrets"),
    ("keda", {"crds": {"instal": True}}, "crds.instal"),
    ("gateway-helm", {"config": {"envoyGateway": {"extensionApis": {"enableLuaa": True}}}},
     "config.envoyGateway.enableLuaa"),
    ("body-based-routing", {"bbr": {"replica": 2}}, "bbr.replica"),
    ("aws-load-balancer-controller", {"serviceAccount": {"nam": "x"}}, "serviceAccount.nam"),
    ("aws-load-balancer-controller", {"vpcID": "vpc-1"}, "vpcID"),  # the chart's key is vpcId
])
def test_a_misspelt_key_fails(chart, values, bad):
    assert bad in chart_errors(chart, values)


def test_free_form_maps_accept_any_key():
    assert chart_errors("body-based-routing", {"bbr": {"flags": {"anything": "1"}}}) == []
    assert chart_errors("dcgm-exporter", {"podLabels": {"team": "ml"}}) == []  # podLabels: {} in the chart


def _bbr_args(values: dict) -> list[str]:
    """argv of the body-based router as the chart's template builds it (templates/bbr.yaml at v1.4.0:
    ``--streaming``, then per ``bbr.flags`` entry in key order ``--{{ $key }}`` and ``"{{ $value }}"``)."""
    template = (chart_dir("body-based-routing") / "bbr.yaml").read_text()
    assert '- --{{ $key }}\n        - "{{ $value }}"' in template  # the rendering this emulates
    flags = {**defaults(chart_dir("body-based-routing"))["bbr"]["flags"], **values["bbr"].get("flags", {})}
    args = ["--streaming"]
    for key in sorted(flags):  # Go templates range over a map in key order
        value = flags[key]
        args += [f"--{key}", str(value).lower() if isinstance(value, bool) else str(value)]
    return args


#: BBR's bool flags (pkg/bbr/server/options.go at v1.4.0); every other flag takes the next argument as its value.
BBR_BOOL_FLAGS = {"streaming", "secure-serving", "enable-pprof", "metrics-endpoint-auth"}


def _pflag_bool(args: list[str], name: str, default: bool) -> tuple[bool, list[str]]:
    """A pflag bool flag's final value and the positional arguments left (pflag: a bare ``--flag`` is true;
    only ``--flag=false`` turns it off; the next argument is never consumed as a bool flag's value)."""
    value, positional, takes_value = default, [], False
    for arg in args:
        if takes_value:
            takes_value = False
        elif arg == f"--{name}":
            value = True
        elif arg.startswith(f"--{name}="):
            value = arg.split("=", 1)[1].lower() in ("1", "t", "true")
        elif arg.startswith("--"):
            takes_value = "=" not in arg and arg[2:] not in BBR_BOOL_FLAGS
        else:
            positional.append(arg)
    return value, positional


def test_the_body_based_router_serves_plaintext(rendered):
    """Envoy dials BBR without TLS (failOpen false): the router must get --secure-serving=false as one
    argument (pkg/bbr/server/options.go at v1.4.0: secure-serving defaults to true)."""
    bbr = [i for _, i in releases(rendered) if i["chart"].endswith("body-based-routing")]
    assert bbr
    for inputs in bbr:
        secure, positional = _pflag_bool(_bbr_args(inputs["values"]), "secure-serving", default=True)
        assert secure is False and positional == [], shlex.join(_bbr_args(inputs["values"]))


def test_the_old_flag_rendering_kept_tls_on():
    """The check above fails on the previous values ({"secure-serving": False})."""
    secure, positional = _pflag_bool(_bbr_args({"bbr": {"flags": {"secure-serving": False}}}), "secure-serving", True)
    assert secure is True and positional == ["false"]


def test_dcgm_on_gke_sees_gpus_and_keeps_the_counters_file(rendered):
    """GKE exposes /dev/nvidia* only to GPU-requesting or privileged containers; a list value replaces the
    chart's whole extraVolumeMounts, whose default mounts the counters CSV the -f argument reads."""
    chart_default = defaults(chart_dir("dcgm-exporter"))
    counters = chart_default["extraVolumeMounts"][0]
    assert counters["mountPath"] in chart_default["arguments"]
    gke = [i["values"] for label, i in releases(rendered) if i["chart"] == "dcgm-exporter" and "staging" in label]
    aws = [i["values"] for label, i in releases(rendered) if i["chart"] == "dcgm-exporter" and label == "dev"]
    assert gke and aws
    for values in gke:
        assert values["securityContext"]["privileged"] is True
        assert values["securityContext"]["allowPrivilegeEscalation"] is True  # privileged requires it
        assert counters in values["extraVolumeMounts"]
    for values in aws:  # AWS (device plugin + container toolkit): neither privilege nor mount overrides
        assert "securityContext" not in values and "extraVolumeMounts" not in values


def test_gke_public_health_check_asks_envoys_readiness_listener(rendered):
    """GKE's external Application Load Balancer checks ``GET /`` on the serving port unless a BackendConfig says
    otherwise; that path answers 401 (API keys), so the check targets Envoy's readiness listener (port 19003
    /ready, envoyproxy/gateway release/v1.9 internal/xds/bootstrap/bootstrap.go)."""
    objects = rendered["staging-public"]
    [config] = objects.kinds("BackendConfig")
    [proxy] = objects.kinds("EnvoyProxy")
    health = config["spec"]["healthCheck"]
    assert (health["type"], health["port"], health["requestPath"]) == ("HTTP", 19003, "/ready")
    annotations = proxy["spec"]["provider"]["kubernetes"]["envoyService"]["annotations"]
    assert re.search(r'"default":\s*"' + config["metadata"]["name"] + '"', annotations["cloud.google.com/backend-config"])
    assert config["metadata"]["namespace"] == proxy["metadata"]["namespace"]


def test_vendored_charts_name_their_source():
    for name in ("kube-prometheus-stack", "dcgm-exporter", "keda", "cluster-autoscaler", "nvidia-device-plugin",
                 "gateway-helm", "body-based-routing"):
        meta = source(chart_dir(name))
        assert meta["repo"] and meta["ref"] and meta["licence"] == "Apache-2.0" and len(meta["commit"]) == 40
