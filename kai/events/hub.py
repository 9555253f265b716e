"""Live messages between processes: broadcaster channels, fanned out to bounded local queues.

One broker subscription per channel per process feeds every local subscriber
of that channel. Each subscriber has a bounded queue: one that falls too far
behind gets `Overflow` instead of growing memory without bound.

The hub drives a broadcaster backend (`memory://`, `redis://`, `postgres://`,
...) directly; for Redis it uses `RedisPubSubBackend`, which reports a broken
connection instead of hiding it. broadcaster never reconnects by itself, so the
hub does: a connection ("link") is given up when its reader fails, when
subscribing or publishing on it fails, or when a periodic probe (a message the
hub sends to itself) does not come back. The hub then reconnects with backoff,
subscribes every channel again and tells every subscriber `Interrupted`:
messages may have been missed, and whoever keeps a durable copy (the event log)
catches up from it.

Messages can also be lost by another process: one whose publish failed. A hub
that failed to publish announces it on a control channel once it is connected
again, and every hub that hears it interrupts its own subscribers, so they
catch up too instead of waiting for the next message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

from broadcaster import Event

from kai.aio import stop_tasks
from kai.events.link import OPERATION_TIMEOUT, Link, LinkDown, make_backend, new_waiter
from kai.events.subscription import Closed, Interrupted, Overflow, Subscription, offer_all
from kai.observability import metrics

__all__ = ["Closed", "EventHub", "Interrupted", "Overflow", "Subscription"]

log = logging.getLogger(__name__)

RECONNECT_DELAYS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
PROBE_SECONDS = 15.0
RESYNC_CHANNEL = "kai:hub:resync"
SCHEMES = {"memory", "redis", "rediss", "redis-stream", "postgres", "postgresql", "kafka"}
# Where a message lives only while it is delivered, a probe costs nothing; streams
# (redis-stream://, kafka://) would keep every probe, and memory:// cannot fail.
PROBED_SCHEMES = {"redis", "rediss", "postgres", "postgresql"}

_T = TypeVar("_T")


class EventHub:
    def __init__(
        self,
        url: str,
        *,
        buffer_size: int = 1000,
        timeout: float = OPERATION_TIMEOUT,
        probe_seconds: float | None = PROBE_SECONDS,
    ):
        """`timeout` bounds every broker operation; `probe_seconds` is how often the
        hub checks, by sending itself a message, that its subscription still
        delivers (None: never; only done on Redis and PostgreSQL)."""
        scheme = urlsplit(url).scheme
        if scheme not in SCHEMES:
            raise ValueError(f"unsupported broadcast URL scheme {scheme!r}")
        self._url = url
        self._buffer_size = buffer_size
        self._timeout = timeout
        self._probe_seconds = probe_seconds if scheme in PROBED_SCHEMES else None
        self._id = uuid.uuid4().hex
        self._probe_channel = f"kai:hub:probe:{self._id}"
        self._channels: dict[str, set[Subscription]] = {}
        self._link: Link | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._missed_publish = False
        self._closed = False
        self.reconnects = 0

    @property
    def url(self) -> str:
        return self._url

    @property
    def connected(self) -> bool:
        return self._link is not None and not self._link.down

    async def start(self) -> None:
        """Connects; raises if the broker cannot be reached (a misconfiguration fails fast)."""
        if self._closed:
            raise Closed()
        try:
            link = await self._open()
            self._link = link
            await self._restore(link, interrupt=False)
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, Exception):
                where = urlsplit(self._url)
                raise ConnectionError(
                    f"cannot reach the broker {where.scheme}://{where.hostname or ''}"
                    f"{':' + str(where.port) if where.port else ''}: {exc!r}"
                ) from exc
            raise

    async def stop(self) -> None:
        """Ends every subscription with `Closed` and lets go of the broker; bounded in time."""
        if self._closed:
            return
        self._closed = True
        link, self._link = self._link, None
        for subscribers in self._channels.values():
            for subscriber in subscribers:
                subscriber.kill(Closed())
        tasks = {task for task in (self._reconnecting, *self._background) if task}
        for task in tasks:
            task.cancel()
        if link is not None:
            link.down = True
            link.fail_waiters()
            await self._close_link(link)
        await self._end(tasks)
        # Connections given up earlier may still be closing: let them finish.
        if self._closing:
            await asyncio.wait(self._closing, timeout=self._timeout)

    async def publish(self, channel: str, message: dict[str, Any]) -> bool:
        """Send to every process's subscribers; False when the broker is unreachable.

        Callers publish what they have already stored, so a lost message is
        caught up from storage: the hub reconnects, then makes every hub
        (this one included) interrupt its subscribers.
        """
        link = self._link
        if link is None or link.down:
            self._missed()
            return False
        try:
            await self._bounded(link.backend.publish(channel, json.dumps(message, default=str)))
            metrics.EVENTS_PUBLISHED.inc()
        except Exception as exc:
            log.warning("publish on %s failed: %r", channel, exc)
            self._lost(link, exc)
            self._missed()
            return False
        return True

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        """Live messages of `channel` from the moment this returns.

        While the broker is unreachable this returns at once: the subscriber
        gets `Interrupted` when the hub has reconnected and subscribed again.
        """
        if self._closed:
            raise Closed()
        subscription = Subscription(self._buffer_size)
        subscribers = self._channels.setdefault(channel, set())
        subscribers.add(subscription)
        try:
            link = self._link
            if link is not None and not link.down:
                with contextlib.suppress(LinkDown):
                    await asyncio.shield(link.request(channel))
            yield subscription
        finally:
            subscribers.discard(subscription)
            if not subscribers and self._channels.get(channel) is subscribers:
                del self._channels[channel]
                link = self._link
                if link is not None and not link.down:
                    link.mark(channel)

    # The connection and its tasks.

    async def _open(self) -> Link:
        backend = make_backend(self._url, timeout=self._timeout)
        link = Link(backend)
        try:
            await self._bounded(backend.connect())
            link.tasks.append(asyncio.create_task(self._read(link)))
            link.tasks.append(asyncio.create_task(self._reconcile(link)))
            control = [RESYNC_CHANNEL]
            if self._probe_seconds:
                control.append(self._probe_channel)
            for channel in control:
                await self._bounded(backend.subscribe(channel))
                link.subscribed.add(channel)
            if link.down:
                raise LinkDown()
            if self._probe_seconds:
                link.tasks.append(asyncio.create_task(self._probe(link, self._probe_seconds)))
        except BaseException:
            link.down = True
            await self._close_link(link)
            raise
        return link

    async def _restore(self, link: Link, *, interrupt: bool) -> None:
        """Subscribes every channel on `link` (already current); then says what may be lost."""
        waiters = [link.request(channel) for channel in list(self._channels)]
        if waiters:
            await self._bounded(asyncio.gather(*map(asyncio.shield, waiters)))
        while self._missed_publish:
            self._missed_publish = False
            await self._resync(link)
        if link.down:
            raise LinkDown()
        if interrupt:
            self._interrupt_all()

    async def _read(self, link: Link) -> None:
        try:
            while not link.down:
                self._deliver(link, await link.backend.next_published())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._lost(link, exc)

    def _deliver(self, link: Link, event: Event) -> None:
        try:
            message = json.loads(event.message)
        except ValueError:
            log.warning("dropped a message on %s that is not JSON", event.channel)
            return
        if event.channel == RESYNC_CHANNEL:
            if message.get("from") != self._id:
                log.info("another process failed to publish; subscribers catch up")
                self._interrupt_all()
            return
        if event.channel == self._probe_channel:
            probe = link.probe
            if probe and probe[0] == message.get("probe") and not probe[1].done():
                probe[1].set_result(None)
            return
        offer_all(list(self._channels.get(event.channel, ())), message)

    async def _reconcile(self, link: Link) -> None:
        """Makes the broker's subscriptions on `link` match the channels that have subscribers.

        One task per link sends every SUBSCRIBE/UNSUBSCRIBE, so they never
        overtake each other.
        """
        try:
            while not link.down:
                await link.wake.wait()
                link.wake.clear()
                while link.dirty and not link.down:
                    channel = link.dirty.pop()
                    wanted = channel in self._channels
                    if wanted and channel not in link.subscribed:
                        await self._bounded(link.backend.subscribe(channel))
                        link.subscribed.add(channel)
                    elif not wanted and channel in link.subscribed:
                        link.subscribed.discard(channel)
                        await self._bounded(link.backend.unsubscribe(channel))
                    waiter = link.waiting.pop(channel, None)
                    if waiter is not None and not waiter.done():
                        if channel in link.subscribed:
                            waiter.set_result(None)
                        else:  # its subscribers left before it was subscribed
                            waiter.set_exception(LinkDown())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._lost(link, exc)

    async def _probe(self, link: Link, every: float) -> None:
        """Sends the hub a message through the broker now and then; no answer: link lost."""
        number = 0
        try:
            while not link.down:
                await asyncio.sleep(every)
                number += 1
                answered = new_waiter()
                link.probe = (number, answered)
                await self._bounded(
                    link.backend.publish(self._probe_channel, json.dumps({"probe": number}))
                )
                try:
                    await self._bounded(answered)
                except TimeoutError:
                    raise ConnectionError("the probe message did not come back") from None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._lost(link, exc)

    async def _resync(self, link: Link) -> None:
        """Tells every hub that messages may be missing: a publish failed here."""
        try:
            await self._bounded(
                link.backend.publish(RESYNC_CHANNEL, json.dumps({"from": self._id}))
            )
        except Exception as exc:
            self._missed_publish = True
            self._lost(link, exc)
            raise

    def _missed(self) -> None:
        if self._closed:
            return
        self._missed_publish = True
        link = self._link
        reconnecting = self._reconnecting is not None and not self._reconnecting.done()
        if link is not None and not link.down and not reconnecting:
            # The failed publish went to a link already replaced: say so on the new one.
            self._missed_publish = False
            self._spawn(self._resync(link))

    def _interrupt_all(self) -> None:
        for subscribers in self._channels.values():
            for subscriber in list(subscribers):
                subscriber.signal(Interrupted())

    def _lost(self, link: Link, exc: BaseException) -> None:
        if link.down:
            return
        link.down = True
        link.fail_waiters()
        if self._link is link:
            self._link = None
        if self._closed:
            return
        log.warning("broker connection lost (%r); reconnecting", exc)
        self._close_later(link)
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        attempt = 0
        while not self._closed:
            delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 (jitter)
            attempt += 1
            link: Link | None = None
            try:
                link = await self._open()
                if self._closed:  # stop() came while connecting
                    await self._close_link(link)
                    return
                self._link = link
                await self._restore(link, interrupt=True)
            except Exception as exc:
                if link is not None:
                    self._lost(link, exc)
                log.warning("broker unreachable (attempt %d): %r", attempt, exc)
                continue
            self.reconnects += 1
            log.info("broker reconnected; %d channels subscribed again", len(self._channels))
            return

    def _close_later(self, link: Link) -> asyncio.Task[None]:
        if link.closed is None:
            link.closed = asyncio.create_task(self._shut(link))
            self._closing.add(link.closed)
            link.closed.add_done_callback(self._closing.discard)
        return link.closed

    async def _close_link(self, link: Link) -> None:
        await asyncio.shield(self._close_later(link))

    async def _shut(self, link: Link) -> None:
        link.down = True
        link.wake.set()
        await self._end({task for task in link.tasks if task is not asyncio.current_task()})
        with contextlib.suppress(Exception):
            await self._bounded(link.backend.disconnect())

    async def _end(self, tasks: set[asyncio.Task[Any]]) -> None:
        left = await stop_tasks(tasks, within=self._timeout)
        if left:
            log.warning("%d broker tasks did not stop", len(left))

    async def _bounded(self, awaitable: Awaitable[_T]) -> _T:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
        # cancellation that arrives as the awaited operation finishes.
        async with asyncio.timeout(self._timeout):
            return await awaitable

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("background broker task failed: %r", task.exception())
