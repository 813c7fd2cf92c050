"""EKS managed node group decisions per ladder rung: where the instance type goes, how the group updates."""
from __future__ import annotations

from dataclasses import dataclass

from components.plan.ladder import Rung


@dataclass(frozen=True)
class RungInstanceTypes:
    """Where a rung's instance types are named.

    Attributes:
        launch_template: The launch template's ``InstanceType`` (one type), or ``None``.
        node_group: The node group's ``instanceTypes``, or ``None`` when the template names the type.
    """

    launch_template: str | None
    node_group: tuple[str, ...] | None


def rung_instance_types(rung: Rung) -> RungInstanceTypes:
    """A capacity-block node group takes its single type from its launch template and lists none itself.

    EKS user guide, "Create a managed node group with Capacity Blocks for ML"
    (https://docs.aws.amazon.com/eks/latest/userguide/capacity-blocks-mng.html): the launch template's
    ``LaunchTemplateData`` sets ``InstanceMarketOptions.MarketType: capacity-block``,
    ``CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationId`` and ``InstanceType``.
    EKS API CreateNodegroup ``instanceTypes``: a type in the launch template together with any ``instanceTypes``
    fails the node group deployment
    (https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html).
    Other rungs keep the template type-free and list their types on the node group (the spot burst diversifies).
    """
    if rung.tier == "capacity-block":
        if len(rung.instance_types) != 1:
            raise ValueError(f"capacity-block rung needs exactly one instance type, got {rung.instance_types}")
        return RungInstanceTypes(launch_template=rung.instance_types[0], node_group=None)
    return RungInstanceTypes(launch_template=None, node_group=tuple(rung.instance_types))


#: Rungs whose nodes sit on a reservation sized to the floor: a surge node has nowhere to launch.
NO_SURGE_TIERS = ("reserved", "capacity-block")


def rung_update_config(rung: Rung) -> dict[str, int | str]:
    """Node group ``update_config``: one node at a time; no surge on reserved and capacity-block rungs.

    EKS API NodegroupUpdateConfig.updateStrategy
    (https://docs.aws.amazon.com/eks/latest/APIReference/API_NodegroupUpdateConfig.html): ``DEFAULT`` launches the
    new instances before terminating the old ones; ``MINIMAL`` terminates the old instances first ("useful ...
    with hardware accelerators such as GPUs"). A fully used ODCR (prod: 1 of 1) or a Capacity Block has no slot for
    a surge node, so DEFAULT would stall there; MINIMAL frees the slot the new node launches into (and EKS asks
    capacity-block groups to be at desired 0 for upgrades: "Create a managed node group with Capacity Blocks for
    ML"). ``update_strategy`` is an argument of pulumi-aws 7.51 ``eks.NodeGroupUpdateConfigArgs``.
    """
    strategy = "MINIMAL" if rung.tier in NO_SURGE_TIERS else "DEFAULT"
    return {"max_unavailable": 1, "update_strategy": strategy}
