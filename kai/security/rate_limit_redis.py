"""GCRA in Redis, so that every replica spends the same budget; in-process while Redis is down.

One Lua script checks and charges all the buckets of a request in one atomic
step, on Redis's own clock (`TIME`), so replicas with skewed clocks agree. Each
key holds the bucket's theoretical arrival time in microseconds and expires
when that time has passed (a bucket back at full capacity holds no state).

When Redis does not answer (down, hung, failing over), the request is not
failed: the in-process limiter counts it instead, a warning is logged at most
once a minute, and Redis is tried again after `retry_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import time
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from kai.security.rate_limit import Bucket, MemoryRateLimiter, RateLimiter, limited

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "kai:ratelimit:"

# KEYS: one per bucket. ARGV: per bucket, its emission interval and window (µs) and its cost.
# Returns 0 when every bucket had room (all are charged), else the longest wait in µs
# (nothing is charged).
GCRA_SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[3 * i - 2])
  local window = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new_tat = tat + cost * interval
  local allowed_at = new_tat - window
  if allowed_at > now and allowed_at - now > wait then wait = allowed_at - now end
  tats[i] = new_tat
end
if wait > 0 then return math.ceil(wait) end
for i, key in ipairs(KEYS) do
  local ttl = math.max(1, math.ceil((tats[i] - now) / 1000))
  redis.call('SET', key, string.format('%.0f', tats[i]), 'PX', ttl)
end
return 0
"""

# Notice a peer that vanished without closing the socket sooner than the kernel would.
_KEEPALIVE = {
    option: value
    for name, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
    if (option := getattr(socket, name, None)) is not None
}


class RedisRateLimiter:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = 0.5,
        retry_seconds: float = 2.0,
        warn_every: float = 60.0,
        fallback: MemoryRateLimiter | None = None,
    ) -> None:
        # A stale pooled connection (Redis restarted) is replaced once at once;
        # a timeout is not retried: the request falls back instead of waiting twice.
        self._redis: Redis = Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            socket_keepalive=True,
            socket_keepalive_options=_KEEPALIVE,
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        self._script = self._redis.register_script(GCRA_SCRIPT)
        self._prefix = prefix
        self._deadline = timeout * 4
        self._retry_seconds = retry_seconds
        self._warn_every = warn_every
        self._fallback = fallback or MemoryRateLimiter()
        self._down_until = 0.0
        self._down = False
        self._last_warning = -math.inf

    @property
    def using_fallback(self) -> bool:
        """True while Redis is considered down and the in-process limiter counts."""
        return self._down

    async def hit(self, key: str, *, limit: int, window: float, cost: int = 1) -> float:
        return await self.hit_all([Bucket(key, limit, window, cost)])

    async def hit_all(self, buckets: Sequence[Bucket]) -> float:
        buckets = limited(buckets)
        if not buckets:
            return 0.0
        if self._down and time.monotonic() < self._down_until:
            return await self._fallback.hit_all(buckets)
        try:
            async with asyncio.timeout(self._deadline):
                wait_us = await self._script(
                    keys=[self._prefix + bucket.key for bucket in buckets],
                    args=_arguments(buckets),
                )
        except (RedisError, OSError, TimeoutError) as exc:
            self._went_down(exc)
            return await self._fallback.hit_all(buckets)
        if self._down:
            self._down = False
            log.warning("rate limiting is back on Redis")
        return int(wait_us) / 1_000_000

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _went_down(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._down = True
        self._down_until = now + self._retry_seconds
        if now - self._last_warning >= self._warn_every:
            self._last_warning = now
            log.warning(
                "Redis does not answer the rate limiter (%r): counting in this process "
                "until it does",
                exc,
            )


def _arguments(buckets: Sequence[Bucket]) -> list[Any]:
    args: list[Any] = []
    for bucket in buckets:
        window_us = bucket.window * 1_000_000
        args += [repr(window_us / bucket.limit), repr(window_us), bucket.cost]
    return args


def rate_limiter_for(redis_url: str | None) -> RateLimiter:
    """Shared through Redis when there is one (KAI_REDIS_URL), else this process's own."""
    if redis_url:
        return RedisRateLimiter(redis_url)
    return MemoryRateLimiter()
