"""Rate limits as GCRA (generic cell rate algorithm): one timestamp per key.

`limit` hits per `window` seconds, spread evenly, with bursts up to `limit`.
This in-memory limiter serves one process; the Redis one (same interface) lets
replicas share a budget.
"""

from __future__ import annotations

import time
from typing import Protocol


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window: float) -> float:
        """Count one hit; return 0 when allowed, else the seconds to wait."""
        ...


class MemoryRateLimiter:
    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._tat: dict[str, float] = {}
        self._max_keys = max_keys

    async def hit(self, key: str, *, limit: int, window: float) -> float:
        now = time.monotonic()
        interval = window / limit
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + interval
        allowed_at = new_tat - window
        if allowed_at > now:
            return allowed_at - now
        self._tat[key] = new_tat
        if len(self._tat) > self._max_keys:
            self._prune(now)
        return 0.0

    def _prune(self, now: float) -> None:
        # A key whose theoretical arrival time has passed holds no state worth keeping.
        for key in [k for k, tat in self._tat.items() if tat <= now]:
            del self._tat[key]
