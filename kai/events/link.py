"""One connection of the hub to its broker, and the backend it is made of."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from broadcaster import Broadcast, BroadcastBackend

from kai.events.redis_backend import RedisPubSubBackend

OPERATION_TIMEOUT = 5.0


class LinkDown(Exception):
    """The connection a subscription was waiting on was given up."""


def make_backend(url: str, *, timeout: float = OPERATION_TIMEOUT) -> BroadcastBackend:
    if urlsplit(url).scheme in ("redis", "rediss"):
        return RedisPubSubBackend(url, timeout=timeout)
    # broadcaster's own backend for the URL (memory://, postgres://, kafka://, ...).
    return Broadcast(url)._backend


class Link:
    """One connection to the broker, with the tasks that serve it."""

    def __init__(self, backend: BroadcastBackend):
        self.backend = backend
        self.subscribed: set[str] = set()
        self.dirty: set[str] = set()
        self.wake = asyncio.Event()
        self.waiting: dict[str, asyncio.Future[None]] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.probe: tuple[int, asyncio.Future[None]] | None = None
        self.down = False
        self.closed: asyncio.Task[None] | None = None

    def request(self, channel: str) -> asyncio.Future[None]:
        """Done once `channel` is subscribed on this link (fails if the link goes down)."""
        if self.down:
            raise LinkDown()
        waiter = self.waiting.get(channel)
        if waiter is None:
            waiter = asyncio.get_running_loop().create_future()
            # Retrieved here, so a waiter nobody awaits any more is not reported.
            waiter.add_done_callback(lambda f: f.cancelled() or f.exception())
            if channel in self.subscribed and channel not in self.dirty:
                waiter.set_result(None)
                return waiter
            self.waiting[channel] = waiter
        self.mark(channel)
        return waiter

    def mark(self, channel: str) -> None:
        """The reconciler compares `channel`'s subscribers with the broker's subscription."""
        self.dirty.add(channel)
        self.wake.set()

    def fail_waiters(self) -> None:
        for waiter in self.waiting.values():
            if not waiter.done():
                waiter.set_exception(LinkDown())
        self.waiting.clear()
        if self.probe and not self.probe[1].done():
            self.probe[1].set_exception(LinkDown())
