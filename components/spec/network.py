"""Network values: private IPv4 ranges of VPCs and subnets, client CIDR lists."""
from __future__ import annotations

import ipaddress


# RFC 1918 private space: VPC and subnet ranges never overlap the Internet (docs.aws.amazon.com/vpc/latest/
# userguide/vpc-cidr-blocks.html recommends it; GKE private clusters require private ranges).
_PRIVATE = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def private_range(network, low: int, high: int, what: str) -> None:
    """Raise ValueError unless ``network`` is an IPv4 RFC 1918 range with a prefix in ``low..high``."""
    if network.version != 4:
        raise ValueError(f"{what} {network} is IPv6; an IPv4 range is needed")
    if not any(network.subnet_of(p) for p in _PRIVATE):
        raise ValueError(f"{what} {network} is not private (inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)")
    if not low <= network.prefixlen <= high:
        raise ValueError(f"{what} {network} has prefix /{network.prefixlen}; /{low} to /{high} is allowed")


def private_cidr(low: int, high: int):
    """A field validator: an IPv4 RFC 1918 range with a prefix in ``low..high``."""
    def check(network):
        private_range(network, low, high, "range")
        return network
    return check


def ipv4_cidr(network):
    """Client CIDR lists: IPv4 only (security group rules here are IPv4), never the whole Internet."""
    if network.version != 4:
        raise ValueError(f"{network} is IPv6; give IPv4 CIDRs")
    if network.prefixlen == 0:
        raise ValueError(f"{network} opens to the whole Internet; list the client ranges")
    return network
