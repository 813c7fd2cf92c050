"""Pure builders of the EKS work: nodeadm user data and the cluster-autoscaler priority table."""
from __future__ import annotations

import re
from email import message_from_string

import yaml

from components.plan import autoscaler, nodeadm
from components.plan.ladder import LadderPlan, Rung
from components.plan.storage import NVME_MOUNT

UUID = "5ebd0a5c-1a2b-4c3d-8e9f-0123456789ab"


def test_node_config_user_data_is_one_nodeadm_mime_part_with_raid0():
    text = nodeadm.node_config_user_data()
    message = message_from_string(text)
    assert message.is_multipart() and message.get_content_type() == "multipart/mixed"
    parts = [p for p in message.walk() if not p.is_multipart()]
    assert [p.get_content_type() for p in parts] == ["application/node.eks.aws"]
    assert nodeadm.parse_node_configs(text) == [{"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig",
                                                 "spec": {"instance": {"localStorage": {"strategy": "RAID0"}}}}]
    assert nodeadm.node_config_user_data() == text, "stable text keeps the launch template from changing"


def test_nodeadm_mounts_where_the_serving_layer_reads():
    assert nodeadm.NODEADM_DEFAULT_MOUNT == NVME_MOUNT


def test_group_patterns_never_match_a_sibling_rung():
    # row: a pool whose name ends like another pool's tier must not capture that rung's group
    on_demand = autoscaler.node_group_pattern("a-on-demand")
    assert re.match(on_demand, f"eks-a-on-demand-{UUID}")
    assert re.match(on_demand, f"eks-a-on-demand-1a2b3c4-{UUID}")  # Pulumi auto-name suffix
    assert not re.match(on_demand, f"eks-a-on-demand-fallback-1a2b3c4-{UUID}")
    assert not re.match(on_demand, f"eks-a-on-demand-spot-1a2b3c4-{UUID}")


def test_priorities_order_reserved_floor_spot_fallback_with_catch_all_last():
    ladder = LadderPlan("aws", "h200", "us-east-1", (
        Rung("reserved", "reserved", 1, 1, ("p5en.48xlarge",), "odcr"),
        Rung("on-demand", "on-demand", 1, 1, ("p5en.48xlarge",)),
        Rung("spot", "spot", 0, 2, ("p5en.48xlarge",)),
        Rung("on-demand-fallback", "on-demand", 0, 2, ("p5en.48xlarge",)),
    ))
    table = yaml.safe_load(autoscaler.priority_configmap_data([ladder])["priorities"])
    assert list(table) == sorted(table, reverse=True)
    order = [next(p for p, pats in table.items() if any(re.match(x, f"eks-h200-{t}-{UUID}") for x in pats))
             for t in ("reserved", "on-demand", "spot", "on-demand-fallback")]
    assert order == sorted(order, reverse=True) and len(set(order)) == 4
    assert table[min(table)] == [".*"]


def test_node_template_tags_describe_labels_taint_and_gpus():
    tags = autoscaler.node_template_tags({"gpuinfra.dev/pool": "p"}, {"key": "nvidia.com/gpu", "value": "true",
                                                                     "effect": "NoSchedule"}, 8)
    prefix = "k8s.io/cluster-autoscaler/node-template"
    assert tags == {f"{prefix}/label/gpuinfra.dev/pool": "p", f"{prefix}/taint/nvidia.com/gpu": "true:NoSchedule",
                    f"{prefix}/resources/nvidia.com/gpu": "8"}
