"""Live messages between processes: broadcaster channels, fanned out to bounded local queues.

One broadcaster subscription per channel per process feeds every local
subscriber of that channel. Each subscriber has a bounded queue: one that
falls too far behind gets `Overflow` instead of growing memory without bound.
broadcaster does not reconnect by itself (its Redis listener just dies), so the
hub watches it, reconnects with backoff, and then tells every subscriber
`Interrupted`: messages may have been missed, and whoever keeps a durable copy
(the event log) catches up from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from broadcaster import Broadcast

log = logging.getLogger(__name__)

RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)


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

    def offer(self, message: dict[str, Any]) -> None:
        if self._dead is not None:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.kill(Overflow())

    def signal(self, error: Exception) -> None:
        """Deliver `error` in order; if there is no room, the subscriber is too far behind."""
        if self._dead is not None:
            return
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
            raise item.error
        return item

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self.get()


class _Channel:
    def __init__(self) -> None:
        self.subscribers: set[Subscription] = set()
        self.ready = asyncio.Event()
        self.pump: asyncio.Task[None] | None = None


class EventHub:
    def __init__(self, url: str, *, buffer_size: int = 1000):
        self._url = url
        self._buffer_size = buffer_size
        self._broadcast: Broadcast | None = None
        self._channels: dict[str, _Channel] = {}
        self._watchdog: asyncio.Task[None] | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def url(self) -> str:
        return self._url

    async def start(self) -> None:
        self._broadcast = await self._connect()
        self._watch()

    async def stop(self) -> None:
        self._closed = True
        for task in (self._watchdog, self._reconnecting):
            if task:
                task.cancel()
        for channel in self._channels.values():
            if channel.pump:
                channel.pump.cancel()
            for subscriber in channel.subscribers:
                subscriber.kill(Closed())
        if self._broadcast is not None:
            with contextlib.suppress(Exception):
                await self._broadcast.disconnect()

    async def publish(self, channel: str, message: dict[str, Any]) -> bool:
        """Send to every process's subscribers; False when the broker is unreachable.

        Callers publish what they have already stored, so a lost message is
        caught up from storage by subscribers once the hub reconnects.
        """
        broadcast = self._broadcast
        if broadcast is None:
            return False
        try:
            await broadcast.publish(channel, json.dumps(message, default=str))
        except Exception as exc:  # the broker went away: the watchdog reconnects
            log.warning("publish on %s failed: %r", channel, exc)
            self._begin_reconnect()
            return False
        return True

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        """Live messages of `channel` from the moment this returns."""
        if self._closed:
            raise Closed()
        subscription = Subscription(self._buffer_size)
        state = self._channels.get(channel)
        if state is None:
            state = self._channels[channel] = _Channel()
            state.pump = asyncio.create_task(self._pump(channel, state))
        state.subscribers.add(subscription)
        try:
            await state.ready.wait()
            yield subscription
        finally:
            state.subscribers.discard(subscription)
            if not state.subscribers and self._channels.get(channel) is state:
                del self._channels[channel]
                if state.pump:
                    state.pump.cancel()

    async def _pump(self, channel: str, state: _Channel) -> None:
        broadcast = self._broadcast
        if broadcast is None:
            return
        try:
            async with broadcast.subscribe(channel) as source:
                state.ready.set()
                while True:
                    event = await source.get()
                    message = json.loads(event.message)
                    for subscriber in list(state.subscribers):
                        subscriber.offer(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("subscription to %s lost: %r", channel, exc)
            self._begin_reconnect()

    async def _connect(self) -> Broadcast:
        broadcast = Broadcast(self._url)
        await broadcast.connect()
        return broadcast

    def _watch(self) -> None:
        broadcast = self._broadcast
        listener = getattr(broadcast, "_listener_task", None)
        if listener is None:
            return

        async def watch() -> None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(listener)
            if not self._closed and self._broadcast is broadcast:
                log.warning("broadcaster listener stopped; reconnecting")
                self._begin_reconnect()

        self._watchdog = asyncio.create_task(watch())

    def _begin_reconnect(self) -> None:
        if self._closed or (self._reconnecting and not self._reconnecting.done()):
            return
        self._reconnecting = asyncio.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        attempt = 0
        while not self._closed:
            await self._drop_connection()
            try:
                self._broadcast = await self._connect()
                for channel, state in list(self._channels.items()):
                    state.pump = asyncio.create_task(self._pump(channel, state))
                waits = [state.ready.wait() for state in self._channels.values()]
                await asyncio.wait_for(asyncio.gather(*waits), timeout=10)
                break
            except Exception as exc:
                delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                log.warning("broker unreachable (%r); retrying in %.2f s", exc, delay)
                attempt += 1
                await asyncio.sleep(delay)
        if self._closed:
            return
        log.info("broker reconnected; %d channels resubscribed", len(self._channels))
        for state in self._channels.values():
            for subscriber in list(state.subscribers):
                subscriber.signal(Interrupted())
        self._watch()

    async def _drop_connection(self) -> None:
        old, self._broadcast = self._broadcast, None
        for state in self._channels.values():
            if state.pump:
                state.pump.cancel()
            state.ready = asyncio.Event()
        if old is not None:
            with contextlib.suppress(Exception):
                await old.disconnect()
