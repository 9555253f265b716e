"""A broadcaster backend for Redis pub/sub that fails loudly instead of silently.

broadcaster 0.3.1's own Redis backend does not fit a hub that must know when
messages may have been lost:

- its listener can miss the first subscription (it sets its ready flag before
  redis-py records the channel, finds "nothing subscribed", and waits forever);
- redis-py retries a broken pub/sub read by reconnecting and re-subscribing
  behind its back, so messages published in between vanish without a trace;
- when the retries run out its listener task dies where nobody looks.

Here the subscriber connection never retries: the first broken read makes
`next_published` raise, and keeps raising, so the hub drops this backend,
connects a new one and tells its subscribers they were interrupted.
`subscribe` returns once Redis has confirmed the subscription, so a message
published after it returns is delivered. The publishing connection has its own
pool, bounded timeouts and one immediate retry (a stale pooled connection is
replaced; a down server fails fast).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import defaultdict, deque
from typing import Any

from broadcaster import BroadcastBackend, Event
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

# Notice a peer that vanished without closing the socket (host down, network
# cut) in ~25 s instead of the kernel's default two hours.
_KEEPALIVE = {
    option: value
    for name, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
    if (option := getattr(socket, name, None)) is not None
}


class RedisPubSubBackend(BroadcastBackend):
    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        common: dict[str, Any] = {
            "socket_connect_timeout": timeout,
            "socket_keepalive": True,
            "socket_keepalive_options": _KEEPALIVE,
        }
        self._publisher = Redis.from_url(
            url, retry=Retry(NoBackoff(), 1), socket_timeout=timeout, **common
        )
        # No read timeout: a subscriber waits for messages as long as there are none.
        self._subscriber = Redis.from_url(url, retry=Retry(NoBackoff(), 0), **common)
        self._pubsub = self._subscriber.pubsub()
        self._confirmations: dict[str, deque[asyncio.Future[None]]] = defaultdict(deque)
        self._failure: Exception | None = None

    async def connect(self) -> None:
        await self._publisher.ping()
        await self._pubsub.connect()  # type: ignore[no-untyped-call]

    async def disconnect(self) -> None:
        self._fail(RedisConnectionError("disconnected"))
        for close in (self._pubsub.aclose, self._subscriber.aclose, self._publisher.aclose):
            with contextlib.suppress(Exception):
                await close()

    async def subscribe(self, group: str) -> None:
        self._check()
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirmations[group].append(confirmed)
        try:
            await self._pubsub.subscribe(group)
            await confirmed  # the reader (next_published) sees Redis's answer
        finally:
            waiting = self._confirmations.get(group)
            if waiting is not None and confirmed in waiting:
                waiting.remove(confirmed)
                if not waiting:
                    del self._confirmations[group]

    async def unsubscribe(self, group: str) -> None:
        self._check()
        await self._pubsub.unsubscribe(group)

    async def publish(self, channel: str, message: Any) -> None:
        await self._publisher.publish(channel, message)

    async def next_published(self) -> Event:
        while True:
            self._check()
            try:
                message = await self._pubsub.get_message(timeout=None)
            except Exception as exc:
                self._fail(exc)
                raise
            if message is None:
                continue
            kind = message["type"]
            channel = _text(message["channel"])
            if kind == "message":
                return Event(channel=channel, message=_text(message["data"]))
            if kind == "subscribe":
                waiting = self._confirmations.get(channel)
                while waiting:
                    confirmed = waiting.popleft()
                    if not confirmed.done():
                        confirmed.set_result(None)
                        break

    def _check(self) -> None:
        if self._failure is not None:
            raise RedisConnectionError(f"subscriber lost: {self._failure!r}")

    def _fail(self, exc: Exception) -> None:
        if self._failure is None:
            self._failure = exc
        for waiting in self._confirmations.values():
            for confirmed in waiting:
                if not confirmed.done():
                    confirmed.set_exception(RedisConnectionError(f"subscriber lost: {exc!r}"))
        self._confirmations.clear()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
