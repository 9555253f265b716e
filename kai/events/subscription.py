"""A subscriber's side of the hub: a bounded queue, and the signals it may receive."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Any

from kai.observability import metrics


class Interrupted(Exception):
    """The live stream was broken and restored: messages may have been missed."""


class Overflow(Exception):
    """The subscriber fell more than its buffer behind and was cut off."""


class Closed(Exception):
    """The hub is shutting down."""


class _Signal:
    def __init__(self, error: Exception):
        self.error = error


class Subscription:
    """A bounded mailbox with one reader. Not an asyncio.Queue: each of those holds three
    deques (items, waiting getters, waiting putters; some 2 KiB when empty) and wakes its
    getter through a future kept in one of them; a process holds one per live
    subscription, thousands of them, and nothing ever waits to put here."""

    __slots__ = ("_dead", "_interrupt_queued", "_items", "_maxsize", "_waiter")

    def __init__(self, maxsize: int):
        self._items: deque[dict[str, Any] | _Signal] = deque()
        self._maxsize = maxsize
        self._waiter: asyncio.Future[None] | None = None  # the reader's, while it waits
        self._dead: Exception | None = None
        self._interrupt_queued = False

    def offer(self, message: dict[str, Any]) -> bool:
        """Queues `message`; False when it is dropped (counted by the caller, once for all
        the subscribers it offers a message to)."""
        if self._dead is not None:
            return False
        if not self._put(message):
            self.kill(Overflow())
            return False
        return True

    def signal(self, error: Exception) -> None:
        """Deliver `error` in order; if there is no room, the subscriber is too far behind."""
        if self._dead is not None:
            return
        if isinstance(error, Interrupted):
            # One unread Interrupted already makes the reader catch up after
            # everything queued so far; a second one would only repeat that.
            if self._interrupt_queued:
                return
            self._interrupt_queued = True
        if not self._put(_Signal(error)):
            self.kill(Overflow())

    def kill(self, error: Exception) -> None:
        self._dead = error
        # Drop the backlog: the subscriber will not read it, and it is the memory to free.
        self._items.clear()
        self._items.append(_Signal(error))
        self._wake()

    async def get(self) -> dict[str, Any]:
        while not self._items:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if isinstance(item, _Signal):
            if isinstance(item.error, Interrupted):
                self._interrupt_queued = False
            if self._dead is not None:
                # Stay dead: every later read gets the same error.
                self._items.appendleft(item)
            raise item.error
        return item

    def _put(self, item: dict[str, Any] | _Signal) -> bool:
        if len(self._items) >= self._maxsize:
            return False
        self._items.append(item)
        self._wake()
        return True

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self.get()


def offer_all(subscribers: Sequence[Subscription], message: dict[str, Any]) -> None:
    """Offers `message` to each subscriber, and counts the deliveries and the drops once for
    all of them (a counter's lock taken per subscriber was 2% of a 5,000-subscriber fan-out)."""
    delivered = sum(subscriber.offer(message) for subscriber in subscribers)
    if delivered:
        metrics.EVENTS_DELIVERED.inc(delivered)
    if delivered < len(subscribers):
        metrics.EVENTS_DROPPED.inc(len(subscribers) - delivered)
