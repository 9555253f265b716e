"""Re-checks of long-lived connections' credentials, shared by credential.

Every WebSocket and SSE stream re-authenticates every KAI_WS_AUTH_CHECK_SECONDS so a
logout or a revoked key ends it (S7, W3). Done per connection, 5,000 sockets of one
user were 1,000 database queries a second, which starved the requests themselves
(bench/fanout.py). Here one check of a credential answers every connection holding it
for `max_age` seconds (half the interval, so an answer is never older than 1.5 of it).
"""

from __future__ import annotations

import asyncio
import time

from kai.security.authenticate import Authenticator
from kai.security.principal import Principal


class CredentialChecks:
    def __init__(self, authenticator: Authenticator, *, max_age: float):
        self.authenticator = authenticator
        self.max_age = max_age
        self._checks: dict[str, tuple[float, asyncio.Future[Principal]]] = {}
        self._pruned_at = time.monotonic()

    async def check(self, credential: str) -> Principal:
        """The credential's principal now, or the KaiError that refuses it."""
        now = time.monotonic()
        entry = self._checks.get(credential)
        future: asyncio.Future[Principal]
        if entry is None or now - entry[0] > self.max_age:
            future = asyncio.ensure_future(self.authenticator.authenticate(credential))
            # Every waiter may have gone (its socket closed): the outcome is still read.
            future.add_done_callback(_retrieve)
            self._checks[credential] = (now, future)
            self._prune(now)
        else:
            future = entry[1]
        # Shielded: one connection closing must not cancel the check the others await.
        return await asyncio.shield(future)

    def _prune(self, now: float) -> None:
        """Forgets stale checks, at most once per max_age (so a check costs O(1))."""
        if now - self._pruned_at < self.max_age:
            return
        self._pruned_at = now
        stale = [key for key, (at, _) in self._checks.items() if now - at > self.max_age]
        for key in stale:
            del self._checks[key]


def _retrieve(future: asyncio.Future[Principal]) -> None:
    if not future.cancelled():
        future.exception()
