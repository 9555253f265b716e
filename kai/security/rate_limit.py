"""Rate limits as GCRA (generic cell rate algorithm): one timestamp per key.

`limit` hits per `window` seconds, spread evenly, with bursts up to `limit`.
A hit may cost more than one (an operation with n root fields costs n), and a
check of several buckets is all or nothing: either every bucket has room for
its cost and all of them are charged, or none is and the answer is the longest
wait. A refused hit spends nothing. A limit of 0 (or less) means unlimited.

This in-memory limiter serves one process; the Redis one
(`kai.security.rate_limit_redis`, same interface) lets replicas share a budget.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Bucket:
    """`cost` hits against `key`, which allows `limit` hits per `window` seconds."""

    key: str
    limit: int
    window: float
    cost: int = 1


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window: float, cost: int = 1) -> float:
        """Count `cost` hits; return 0 when allowed, else the seconds to wait."""
        ...

    async def hit_all(self, buckets: Sequence[Bucket]) -> float:
        """Charge every bucket its cost, or none of them; 0 when allowed, else the wait."""
        ...

    async def aclose(self) -> None: ...


def limited(buckets: Sequence[Bucket]) -> list[Bucket]:
    """The buckets that limit anything: a limit of 0 is unlimited, a cost of 0 is free."""
    return [bucket for bucket in buckets if bucket.limit > 0 and bucket.cost > 0]


class MemoryRateLimiter:
    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._tat: dict[str, float] = {}
        self._max_keys = max_keys

    async def hit(self, key: str, *, limit: int, window: float, cost: int = 1) -> float:
        return await self.hit_all([Bucket(key, limit, window, cost)])

    async def hit_all(self, buckets: Sequence[Bucket]) -> float:
        # No await in here: within one event loop the check and the charge are one step.
        buckets = limited(buckets)
        if not buckets:
            return 0.0
        now = time.monotonic()
        wait = 0.0
        charged: list[tuple[str, float]] = []
        for bucket in buckets:
            interval = bucket.window / bucket.limit
            tat = max(self._tat.get(bucket.key, now), now)
            new_tat = tat + bucket.cost * interval
            allowed_at = new_tat - bucket.window
            if allowed_at > now:
                wait = max(wait, allowed_at - now)
            charged.append((bucket.key, new_tat))
        if wait > 0:
            return wait
        self._tat.update(charged)
        if len(self._tat) > self._max_keys:
            self._prune(now)
        return 0.0

    async def aclose(self) -> None:
        return None

    def _prune(self, now: float) -> None:
        # A key whose theoretical arrival time has passed holds no state worth keeping.
        for key in [k for k, tat in self._tat.items() if tat <= now]:
            del self._tat[key]
