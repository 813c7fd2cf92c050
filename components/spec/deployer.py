"""The `deployer` section: where the machine running `pulumi up`/`preview` sits, so the plan can tell whether it
reaches the Kubernetes API endpoints it must install the serving layer through."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, IPvAnyNetwork, model_validator

from components.spec import values as v
from components.spec.base import Spec

Cidr = Annotated[IPvAnyNetwork, AfterValidator(v.ipv4_cidr)]


class DeployerSpec(Spec):
    """Where the deploy and preview jobs run (the workflows pick the runner from the repository variable
    `DEPLOY_RUNNER`, default `ubuntu-latest`)."""

    runner: Literal["external", "in-network"] = "external"
    """`external`: outside the clusters' networks (e.g. a GitHub-hosted runner); it reaches only public
    endpoints that admit `egress_cidrs`. `in-network`: a self-hosted runner inside the clusters' networks
    (`network_cidrs`); the clusters then keep their endpoints private."""
    egress_cidrs: list[Cidr] = Field(default_factory=list, max_length=20)
    """Public egress CIDRs of an external runner (e.g. the static IP ranges of GitHub larger runners)."""
    network_cidrs: list[Cidr] = Field(default_factory=list, max_length=20)
    """Private CIDRs an in-network runner connects from (admitted to the EKS API on 443 and to GKE's authorized
    networks)."""

    @model_validator(mode="after")
    def _shape(self) -> "DeployerSpec":
        if self.runner == "in-network" and not self.network_cidrs:
            raise ValueError("runner 'in-network' needs network_cidrs (the runner's private CIDRs)")
        if self.runner == "in-network" and self.egress_cidrs:
            raise ValueError("egress_cidrs is for runner 'external'; an in-network runner uses network_cidrs")
        if self.runner == "external" and self.network_cidrs:
            raise ValueError("network_cidrs is for runner 'in-network'; an external runner uses egress_cidrs")
        return self
