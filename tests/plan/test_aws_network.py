"""The network plan gives every zone a reservation or Capacity Block uses a private subnet (issue 17 item 9).

Before, the VPC spanned the first ``az_count`` zones only and a reservation elsewhere crashed subnet selection
(or, once checked, was refused). EC2 launches an instance into a Capacity Reservation only with "matching
attributes (instance type, platform, Availability Zone, and tenancy)" (EC2 user guide, "Launch instances into an
existing Capacity Reservation", docs.aws.amazon.com/AWSEC2/latest/UserGuide/capacity-reservations-launch.html), so
the reservation's zone needs a subnet."""
from __future__ import annotations

import copy
import ipaddress

import pytest

from components.catalog import load_catalog
from components.plan.aws_network import AWS_ZONE_LETTERS, CIDR_BLOCKS
from components.spec import ConfigError
from tests.conftest import plan_of, raw_stack


def _prod_with_odcr_in(zone: str) -> dict:
    raw = copy.deepcopy(raw_stack("prod"))
    raw["gpuinfra:aws"]["reservations"][0]["availability_zone"] = zone
    return raw


def test_a_reservation_outside_the_first_zones_gets_a_subnet_only_for_itself():
    network = plan_of(_prod_with_odcr_in("us-east-1f")).aws.network("us-east-1")
    assert network.zones == ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1f")
    assert network.spread_zones == ("us-east-1a", "us-east-1b", "us-east-1c")  # az_count: 3
    (added,) = [s for s in network.subnets if not s.spread]
    assert added.key == "gpuinfra:aws.reservations[0].availability_zone"


def test_adding_a_zone_never_renumbers_the_others():
    before = {s.zone: (s.private_cidr, s.public_cidr) for s in plan_of(raw_stack("prod")).aws.network("us-east-1").subnets}
    after = {s.zone: (s.private_cidr, s.public_cidr)
             for s in plan_of(_prod_with_odcr_in("us-east-1e")).aws.network("us-east-1").subnets}
    assert {z: after[z] for z in before} == before


@pytest.mark.parametrize("region", sorted(AWS_ZONE_LETTERS))
def test_every_zone_of_a_region_fits_the_cidr_layout_without_overlap(region):
    # the worst case: every zone of the region has a subnet, carved from the smallest allowed VPC (/22)
    vpc = ipaddress.ip_network("10.0.0.0/22")
    blocks = list(vpc.subnets(prefixlen_diff=3))
    public = list(blocks[-1].subnets(prefixlen_diff=3))
    zones = len(AWS_ZONE_LETTERS[region])
    assert zones < CIDR_BLOCKS
    cidrs = blocks[:zones] + public[:zones]
    assert all(not a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1:])


def test_every_catalog_region_has_its_zones():
    catalog = load_catalog()
    regions = {r for name in catalog.instance_names("aws") for r in catalog.regions("aws", name)}
    assert not sorted(regions - set(AWS_ZONE_LETTERS)), "add their zones to AWS_ZONE_LETTERS (with the source)"


def test_a_zone_the_region_lacks_is_refused_by_key():
    with pytest.raises(ConfigError) as err:
        plan_of(_prod_with_odcr_in("us-east-1g"))
    assert err.value.path == "gpuinfra:aws.reservations[0].availability_zone"
    assert "'us-east-1g' is not a zone of us-east-1" in err.value.message


def test_nat_cost_counts_the_added_zone():
    items = [i for i in plan_of(_prod_with_odcr_in("us-east-1f")).cost.items if i.resource == "vpc-us-east-1"]
    assert len(items) == 2  # the gateways' hours (with their Elastic IPs) and their data processing
    assert {i.count_max for i in items} == {4}


def test_a_planned_zone_the_account_lacks_is_refused_by_key(monkeypatch, capfd):
    """getAvailabilityZones (state=available) lists only the zones the account can launch in; the zone table is
    what most accounts see, so a zone missing from the answer stops the run with the key that wants it."""
    from components.preview import aws_invokes
    from components.preview.run import ProgramExit, run_program
    from tests.conftest import ROOT

    monkeypatch.setitem(aws_invokes.AZ_LETTERS, "us-east-1", "abcde")  # this account has no us-east-1f
    with pytest.raises(ProgramExit) as exited:
        run_program(ROOT, "prod", raw_config=_prod_with_odcr_in("us-east-1f"))
    assert exited.value.code == 2
    assert not [r for r in exited.value.resources if r.type == "aws:ec2/vpc:Vpc"]
    line = capfd.readouterr().err.strip().splitlines()[-1]
    assert line == ("error: gpuinfra:aws.reservations[0].availability_zone: us-east-1f is not available to this "
                    "account in us-east-1 (available: us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e)")
