"""A subscriber's side of the hub: a bounded queue, and the signals it may receive."""

from __future__ import annotations

import asyncio
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
    def __init__(self, maxsize: int):
        self._queue: asyncio.Queue[dict[str, Any] | _Signal] = asyncio.Queue(maxsize)
        self._dead: Exception | None = None
        self._interrupt_queued = False

    def offer(self, message: dict[str, Any]) -> bool:
        """Queues `message`; False when it is dropped (counted by the caller, once for all
        the subscribers it offers a message to)."""
        if self._dead is not None:
            return False
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
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
        try:
            self._queue.put_nowait(_Signal(error))
        except asyncio.QueueFull:
            self.kill(Overflow())

    def kill(self, error: Exception) -> None:
        self._dead = error
        # Drop the backlog: the subscriber will not read it, and it is the memory to free.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_Signal(error))

    async def get(self) -> dict[str, Any]:
        item = await self._queue.get()
        if isinstance(item, _Signal):
            if isinstance(item.error, Interrupted):
                self._interrupt_queued = False
            if self._dead is not None:
                # Stay dead: every later read gets the same error.
                self._queue.put_nowait(item)
            raise item.error
        return item

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
