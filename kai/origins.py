"""Which web pages may use the API from a browser: one list for CORS (HTTP) and for the
WebSocket handshake's Origin check, so that the two never disagree (H2, W1).

Allowed: `KAI_PUBLIC_URL`'s origin, each origin in `KAI_ALLOWED_ORIGINS` (exact: scheme,
host and port), and in development only, pages on loopback and `*` (any page). `Host`
plays no part: with DNS rebinding a hostile page's Origin and Host agree (H1).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

# Strawberry's: origins in the form browsers send them (lower case, no default port).
from strawberry.http.websocket_origin import normalize_allowed_origins, normalize_origin

ANY_ORIGIN = "*"


def is_bare_origin(value: str) -> bool:
    """scheme://host[:port] and nothing more: no user info, path, query or fragment."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    extra = parts.username or parts.password or parts.query or parts.fragment
    return not extra and parts.path in {"", "/"}


def is_loopback_origin(origin: str) -> bool:
    normalized = normalize_origin(origin)
    if normalized is None:
        return False
    host = urlsplit(normalized).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class BrowserOrigins:
    exact: frozenset[str]
    any_origin: bool = False
    loopback: bool = False

    @classmethod
    def configured(
        cls, *, public_url: str, allowed_origins: list[str], development: bool
    ) -> BrowserOrigins:
        """ValueError names an entry that is not an origin, or `*` outside development."""
        entries = [entry.strip() for entry in allowed_origins]
        any_origin = ANY_ORIGIN in entries
        if any_origin and not development:
            raise ValueError("KAI_ALLOWED_ORIGINS may be * in development only")
        try:
            exact = set(normalize_allowed_origins([e for e in entries if e != ANY_ORIGIN]))
        except ValueError as exc:
            raise ValueError(f"KAI_ALLOWED_ORIGINS: {exc}") from exc
        own = normalize_origin(public_url)
        if own is not None:
            exact.add(own)
        return cls(exact=frozenset(exact), any_origin=any_origin, loopback=development)

    def allows(self, origin: str) -> bool:
        if self.any_origin:
            return True
        if not is_bare_origin(origin):
            return False  # a browser never sends more; normalizing would drop the rest
        normalized = normalize_origin(origin)
        if normalized is None:
            return False
        return normalized in self.exact or (self.loopback and is_loopback_origin(normalized))
