"""Where verify stands: whether an address can be reached from here at all, in words a report can show.

A real RDS instance or ElastiCache cluster lives in private subnets. From a CI runner outside the VPC
its name resolves to a private address, or does not answer: that is the normal case, not a fault, and
it is reported as `unverified` ("not verified from here"), never as a pass and, by default, never as a
failure (`[policy] require_reachable = true` where verify runs inside the VPC).
"""

from __future__ import annotations

import ipaddress
import socket

from verify.errors import NotReachable


def where_it_points(host: str) -> str:
    """A short phrase on the address `host` names: a private address is only reachable in its VPC."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return f"{host} does not resolve from here"
    addresses = sorted({str(info[4][0]) for info in infos})
    private = [
        a for a in addresses if ipaddress.ip_address(a).is_private and not ipaddress.ip_address(a).is_loopback
    ]
    if private:
        return f"{host} resolves to private address {private[0]}: reachable only from inside its VPC"
    return f"{host} resolves to {addresses[0]}" if addresses else f"{host} does not resolve from here"


def not_reachable(what: str, host: str, port: int, reason: str) -> NotReachable:
    """The exception for an endpoint that did not answer: its address, where that points, and why."""
    address = f"{host}:{port}"
    return NotReachable(
        f"{what} {address} is not reachable from here ({where_it_points(host)}; {reason})", address=address
    )
