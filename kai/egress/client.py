"""The one HTTP client for URLs that users supply, with the egress policy on every
connection.

The check sits where the socket is opened (httpcore's network backend): the name is
resolved here, every address it resolves to is judged, and the connection goes to an
address that was judged, by number. No second lookup happens between the check and the
connection, so a name that answers a public address to the check and a private one to
the connection (DNS rebinding) gains nothing; a redirect, a retry and a new pooled
connection each come through here again. TLS still verifies the certificate against the
name in the URL (httpcore takes the server name from the request, not from the socket).

Proxies from the environment (HTTP_PROXY, ...) are not used: through a proxy, the
address checked would be the proxy's, not the destination's.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

from kai.egress.policy import EgressPolicy, EgressRefused

# Resolves (host, port) to the addresses to try, in order.
Resolver = Callable[[str, int], Awaitable[list[str]]]

# What kAI reads that httpx and httpcore do not document, as "module:Class.attribute":
# the transport's connection pool (`_pool`) and the pool's network backend
# (`_network_backend`), which every new connection of the pool uses.
# tests/test_library_seams.py watches both.
SEAMS = (
    "httpx._transports.default:AsyncHTTPTransport.__init__",
    "httpcore._async.connection_pool:AsyncConnectionPool.__init__",
)


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives for `host`, in its order, once each."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to addresses the policy allows."""

    def __init__(
        self, inner: httpcore.AsyncNetworkBackend, policy: EgressPolicy, resolver: Resolver
    ):
        self._inner = inner
        self._policy = policy
        self._resolver = resolver

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = [host] if _is_address(host) else await self._resolver(host, port)
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        for address in addresses:  # one refused address refuses the name: no mixing
            reason = self._policy.refusal(address)
            if reason:
                what = host if address == host else f"{host} resolves to {address}, which"
                raise EgressRefused(
                    f"{what} is a {reason} address, which kAI does not call for users' URLs "
                    "(an operator can allow it: KAI_EGRESS_ALLOWED_NETWORKS)"
                )
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EgressRefused("kAI does not open Unix sockets for users' URLs")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def egress_client(
    policy: EgressPolicy,
    *,
    timeout: httpx.Timeout,
    resolver: Resolver = system_resolver,
    follow_redirects: bool = False,
) -> httpx.AsyncClient:
    """An httpx client whose every connection obeys `policy`."""
    transport = httpx.AsyncHTTPTransport()
    pool: Any = transport._pool
    pool._network_backend = _CheckedBackend(pool._network_backend, policy, resolver)
    return httpx.AsyncClient(
        transport=transport, timeout=timeout, follow_redirects=follow_redirects, trust_env=False
    )
