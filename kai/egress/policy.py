"""Which addresses a user-supplied URL may reach: public ones, and those an operator
allow-listed (KAI_EGRESS_ALLOWED_NETWORKS).

Judged on the address a name resolves to, never on the name: `metadata.example` can
resolve to 169.254.169.254 as easily as `localhost` to 127.0.0.1. IPv6 forms that carry
an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4, Teredo) are
judged by the IPv4 address inside as well, since that is where the packets go.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from kai.networks import Address, Network

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; Alibaba's metadata
# IETF protocol assignments: Python's table leaves some of them global (192.0.0.8).
_PROTOCOL_ASSIGNMENTS = ipaddress.ip_network("192.0.0.0/24")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressRefused(Exception):
    """A user-supplied URL leads to an address kAI may not call. Its message names the
    host, the address and why, and how an operator allows it."""


@dataclass(frozen=True)
class EgressPolicy:
    allowed: tuple[Network, ...] = ()

    def refusal(self, address: str) -> str | None:
        """Why `address` may not be called ("loopback", "private", ...), or None."""
        ip = ipaddress.ip_address(address)
        if self._allows(ip):
            return None
        if isinstance(ip, ipaddress.IPv6Address):
            embedded = _embedded_ipv4(ip)
            for inner in embedded:
                reason = self.refusal(str(inner))
                if reason:
                    return reason
            if ip.ipv4_mapped or ip in _NAT64:
                return None  # the IPv4 address inside, judged above, is the destination
        return _kind(ip)

    def allow_listed(self, address: str) -> bool:
        """Named by the operator's allow-list (not merely public): what plain-http webhook
        endpoints must be, since only development servers should take them."""
        return self._allows(ipaddress.ip_address(address))

    def _allows(self, ip: Address) -> bool:
        candidates: list[Address] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped or ip in _NAT64):
            candidates += _embedded_ipv4(ip)
        return any(
            candidate.version == network.version and candidate in network
            for candidate in candidates
            for network in self.allowed
        )


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    inner: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped:
        inner.append(ip.ipv4_mapped)
    if ip in _NAT64:
        inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    if ip.sixtofour:
        inner.append(ip.sixtofour)
    if ip.teredo:
        inner.extend(ip.teredo)
    return inner


def _kind(ip: Address) -> str | None:
    """The kind of a non-public address; None for a public one."""
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (where cloud metadata services answer)"
    if ip.is_multicast:
        return "multicast"
    if ip.version == 4 and ip in _SHARED:
        return "shared (carrier-grade NAT)"
    if ip.is_private or (ip.version == 4 and ip in _PROTOCOL_ASSIGNMENTS):
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None
