"""The client's address: the socket's peer, or what trusted proxies say in X-Forwarded-For.

X-Forwarded-For is believed only when the peer is one of KAI_TRUSTED_PROXIES.
Each proxy appends the address it received the request from, so the list is
read from the right: the first address that is not itself a trusted proxy is
the client. Whatever lies left of it was written by the client (or someone it
relayed through) and may be forged. Anything that is not an IP address ends the
walk at the last address a trusted proxy vouched for.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.requests import HTTPConnection

from kai.networks import Address, Network, parse_networks


@lru_cache(maxsize=16)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(entries)


def _address(text: str) -> Address | None:
    value = text.strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 192.0.2.1:443
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_ip(connection: HTTPConnection, trusted_proxies: Sequence[str] = ()) -> str | None:
    """The address to count a request against (None: the server cannot tell)."""
    peer = connection.client.host if connection.client else None
    if peer is None or not trusted_proxies:
        return peer
    networks = _networks(tuple(trusted_proxies))
    peer_address = _address(peer)
    if peer_address is None or not _trusted(peer_address, networks):
        return peer
    hops = [
        hop
        for header in connection.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
        if hop.strip()
    ]
    vouched = peer_address
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        if not _trusted(address, networks):
            return str(address)
        vouched = address
    return str(vouched)
