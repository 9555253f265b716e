"""One connection of the hub to its broker, and the backend it is made of."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from broadcaster import Broadcast, BroadcastBackend

from kai.events.redis_backend import RedisPubSubBackend

OPERATION_TIMEOUT = 5.0

# What kAI reads that broadcaster does not document, as "module:Class.attribute": the
# backend a Broadcast builds for a URL (its `_backend`). broadcaster is pinned to the
# minor version this was written against; tests/test_library_seams.py watches it.
SEAMS = (
    "broadcaster._base:Broadcast.__init__",
    "broadcaster._base:Broadcast._create_backend",
)


class LinkDown(Exception):
    """The connection a subscription was waiting on was given up."""


def new_waiter() -> asyncio.Future[None]:
    """A future that may fail with LinkDown after whoever waited on it has gone: its
    outcome is retrieved here, so asyncio does not report it as lost."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.add_done_callback(lambda f: f.cancelled() or f.exception())
    return future


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
        subscribed = self.waiting.get(channel)
        if subscribed is None:
            subscribed = new_waiter()
            if channel in self.subscribed and channel not in self.dirty:
                subscribed.set_result(None)
                return subscribed
            self.waiting[channel] = subscribed
        self.mark(channel)
        return subscribed

    def mark(self, channel: str) -> None:
        """The reconciler compares `channel`'s subscribers with the broker's subscription."""
        self.dirty.add(channel)
        self.wake.set()

    def fail_waiters(self) -> None:
        for subscribed in self.waiting.values():
            if not subscribed.done():
                subscribed.set_exception(LinkDown())
        self.waiting.clear()
        if self.probe and not self.probe[1].done():
            self.probe[1].set_exception(LinkDown())
