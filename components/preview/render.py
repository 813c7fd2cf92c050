"""Human-readable plan: the resource tree by component, a summary line and the report sections."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from components.preview.plan import Plan
from components.preview.recorder import ResourceRecord

# Inputs worth a glance per type (dotted paths into the camelCase inputs). Add a type with one line.
KEY_INPUTS: dict[str, tuple[str, ...]] = {
    "pulumi:providers:aws": ("region",),
    "pulumi:providers:gcp": ("project", "region"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("instanceType", "imageId", "instanceMarketOptions.marketType"),
    "aws:ec2/capacityReservation:CapacityReservation": ("instanceType", "instanceCount", "availabilityZone", "endDateType"),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "availabilityZone"),
    "aws:autoscaling/group:Group": ("minSize", "maxSize", "desiredCapacity", "capacityRebalance"),
    "aws:eks/cluster:Cluster": ("name", "version"),
    "aws:eks/nodeGroup:NodeGroup": ("instanceTypes", "capacityType", "amiType", "scalingConfig"),
    "aws:s3/bucket:Bucket": ("bucket", "forceDestroy"),
    "aws:iam/role:Role": ("name",),
    "gcp:container/cluster:Cluster": ("location", "minMasterVersion", "releaseChannel.channel"),
    "gcp:container/nodePool:NodePool": ("nodeConfig.machineType", "nodeConfig.spot", "autoscaling", "nodeCount"),
    "gcp:compute/instanceTemplate:InstanceTemplate": ("machineType", "guestAccelerators", "scheduling.provisioningModel"),
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": ("region", "targetSize"),
    "gcp:compute/reservation:Reservation": ("zone", "specificReservation.count"),
    "gcp:storage/bucket:Bucket": ("name", "location"),
    "kubernetes:helm.sh/v3:Release": ("chart", "version", "namespace"),
    "kubernetes:apps/v1:Deployment": ("metadata.namespace", "spec.replicas"),
}
K8S_DEFAULT_KEYS = ("metadata.namespace",)
MAX_VALUE = 60
FALLBACK_COUNT = 3


def render_text(result: Plan) -> str:
    """Render the whole plan for a terminal.

    Args:
        result: A finished plan.

    Returns:
        Tree, summary and sections, newline-terminated. Secrets appear only as ``[secret]``.
    """
    run = result.run
    lines = [f"Plan for stack {run.stack} (project {run.project})", ""]
    lines += render_tree(run.resources, f"{run.project}-{run.stack}")
    lines += ["", summary_line(run.resources)]
    if run.outputs:
        lines += _section("Outputs", [f"{k}: {_short(v)}" for k, v in sorted(run.outputs.items())])
    sections = result.sections
    lines += _section("Cost", _cost_lines(sections["cost"]))
    lines += _section("Model fit", _sizing_lines(sections["sizing"]))
    if sections["routing"]:
        lines += _section("Routing", _table(sections["routing"], list(sections["routing"][0])))
    if sections["priorities"]:
        lines += _section("Ladder priorities (EKS cluster-autoscaler priority / GKE ComputeClass rank)",
                          _table(sections["priorities"], list(sections["priorities"][0])))
    if sections["warnings"]:
        lines += _section("Warnings", [f"- {w}" for w in sections["warnings"]])
    lines += _section("Policy", _policy_lines(sections["violations"]))
    return "\n".join(lines) + "\n"


def render_tree(records: list[ResourceRecord], stack_name: str) -> list[str]:
    """Render resources as a tree under the stack, children indented under their parent.

    Args:
        records: Records ordered parent-first (as ``run_program`` returns them).
        stack_name: ``<project>-<stack>``.

    Returns:
        One line per resource: ``type name  key=value ...  [protect] [retain] ...``.
    """
    depth = {("pulumi:pulumi:Stack", stack_name): 0}
    lines = [f"pulumi:pulumi:Stack {stack_name}"]
    for rec in records:
        parent = (rec.parent["type"], rec.parent["name"]) if rec.parent else None
        level = depth.get(parent, 0) + 1
        depth[(rec.type, rec.name)] = level
        details = " ".join(p for p in (_inputs_summary(rec), _flags(rec)) if p)
        lines.append(f"{'  ' * level}{rec.type} {rec.name}" + (f"  {details}" if details else ""))
    return lines


def summary_line(records: list[ResourceRecord]) -> str:
    """Return ``<n> resources: <count> <type>, ...`` (most frequent types first).

    Args:
        records: All records.

    Returns:
        One line.
    """
    counts = Counter(r.type for r in records)
    parts = ", ".join(f"{n} {t}" for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{len(records)} resources: {parts}" if records else "0 resources"


def _lookup(inputs: dict[str, Any], path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."


def _inputs_summary(rec: ResourceRecord) -> str:
    keys = KEY_INPUTS.get(rec.type)
    if keys is None and rec.type.startswith("kubernetes:"):
        keys = K8S_DEFAULT_KEYS
    if keys is None:
        scalars = [k for k, v in sorted(rec.inputs.items()) if isinstance(v, (int, float, bool)) or (isinstance(v, str) and len(v) <= 40)]
        keys = tuple(scalars[:FALLBACK_COUNT])
    pairs = [(k, _lookup(rec.inputs, k)) for k in keys]
    return " ".join(f"{k.rsplit('.', 1)[-1]}={_short(v)}" for k, v in pairs if v is not None)


def _flags(rec: ResourceRecord) -> str:
    opts = rec.options
    flags = ["[protect]"] * bool(opts.get("protect")) + ["[retain]"] * bool(opts.get("retainOnDelete"))
    if opts.get("ignoreChanges"):
        flags.append(f"[ignore-changes: {','.join(opts['ignoreChanges'])}]")
    if opts.get("deleteBeforeReplace"):
        flags.append("[delete-before-replace]")
    if opts.get("provider"):
        flags.append(f"(provider {opts['provider']})")
    return " ".join(flags)


def _section(title: str, body: list[str]) -> list[str]:
    return ["", title, *[f"  {line}" for line in body]]


def _table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    fmt = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()  # noqa: E731
    return [fmt(columns), *[fmt(r) for r in cells]]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return _short(", ".join(str(v) for v in value))
    return _short(value)


def _money(value: Any) -> str:
    return f"${value:,.2f}" if isinstance(value, (int, float)) else "-"


def _three(source: dict[str, Any], name: str) -> tuple[Any, Any, Any]:
    """best/expected/worst from ``{name: {best, expected, worst}}`` or ``{name_best, ...}``."""
    nested = source.get(name) if isinstance(source.get(name), dict) else {}
    return tuple(nested.get(k, source.get(f"{name}_{k}")) for k in ("best", "expected", "worst"))  # type: ignore[return-value]


def _cost_lines(cost: dict[str, Any] | None) -> list[str]:
    if not cost:
        return ["no cost estimate"]
    rows = []
    for item in cost.get("items") or []:
        best, expected, worst = _three(item, "hourly")
        count = f"{item.get('count_min', '?')}-{item.get('count_max', '?')}"
        rows.append({
            "resource": item.get("resource"), "instance_type": item.get("instance_type"), "region": item.get("region"),
            "count": count, "purchase": item.get("purchase"),
            "$/h best": _money(best), "$/h expected": _money(expected), "$/h worst": _money(worst),
        })
    lines = _table(rows, list(rows[0])) if rows else ["no priced items"]
    for period in ("hourly", "monthly"):
        best, expected, worst = _three(cost.get("total") if isinstance(cost.get("total"), dict) else cost, period)
        lines.append(f"total {period}: best {_money(best)}  expected {_money(expected)}  worst {_money(worst)}")
    as_of = cost.get("catalog_as_of") or cost.get("as_of")
    lines.append(f"catalog as of {as_of or 'unknown'}")
    for row in cost.get("usd_per_mtok") or []:
        lines.append(f"$/Mtok at planned traffic, {row.get('model')}: {_money(row.get('usd_per_mtok'))} (input + output; "
                     f"input {_money(row.get('usd_per_mtok_input'))}, output {_money(row.get('usd_per_mtok_output'))}; "
                     f"expected GPU cost {_money(row.get('monthly_usd'))}/month over {row.get('requests_per_month'):,} "
                     "requests)")
    for c in cost.get("commitments") or []:
        lines.append(f"commitment {c.get('commitment')} on {c.get('pool')} ({c.get('nodes')}x {c.get('instance_type')} "
                     f"in {c.get('region')}): {_money(c.get('committed_monthly'))}/month vs on-demand "
                     f"{_money(c.get('on_demand_monthly'))}, saving {_money(c.get('saving_monthly'))} "
                     f"({c.get('saving_pct')}%); rate from {c.get('source')}, {c.get('as_of')}; {c.get('note')}")
    return lines


SIZING_COLUMNS = ["model", "pool", "instance_type", "tp", "replicas_per_node", "weights_gib_per_gpu", "kv_tokens", "max_concurrency", "fits"]


def _sizing_lines(sizing: Any) -> list[str]:
    rows = list(sizing or [])
    if not rows:
        return ["no models"]
    shown = [{**row, "fits": "yes" if row.get("fits") else f"NO: {row.get('reason') or 'does not fit'}"} for row in rows]
    return _table(shown, SIZING_COLUMNS) + _traffic_lines(rows)


TRAFFIC_COLUMNS = ["model", "pool", "peak_rps", "average_rps", "availability", "replica_rps", "replica_ttft_p95_s",
                   "replica_itl_p95_s", "replicas_peak", "replicas_average", "queue_depth_target"]


def _traffic_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Replicas from traffic, one row per (model, pool) with a traffic section (instance types collapsed)."""
    seen, shown = set(), []
    for row in rows:
        if isinstance(row.get("traffic"), dict) and (row["model"], row["pool"]) not in seen:
            seen.add((row["model"], row["pool"]))
            shown.append({"model": row["model"], "pool": row["pool"], **row["traffic"],
                          "queue_depth_target": row.get("queue_depth_target")})
    return ["", "Replicas from traffic (per pool; replica_* = one replica at its capacity within the objectives)",
            *_table(shown, TRAFFIC_COLUMNS)] if shown else []


def _policy_lines(violations: list[dict[str, Any]]) -> list[str]:
    if not violations:
        return ["no violations"]
    order = sorted(violations, key=lambda v: (v.get("level") != "mandatory", str(v.get("policy")), str(v.get("resource"))))
    return [f"[{v.get('level')}] {v.get('policy')}: {v.get('resource')}: {v.get('message')}" for v in order]
