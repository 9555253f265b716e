"""taskiq-redis's stream broker, made to outlive Redis restarts: every place where kAI
overrides or reads a private part of taskiq-redis is in this module (SEAMS; taskiq-redis is
pinned to the minor version these were written against, and tests/test_library_seams.py
fails when the library's side of any of them changes).

Messages are acknowledged after the run. A dead worker's unacknowledged ones are
delivered again once idle for `idle_timeout` (XAUTOCLAIM, behind a lock that expires
after `unacknowledged_lock_timeout`). What the messages mean, and how lost ones are
re-sent: kai.workers.taskiq_dispatch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage
from taskiq_redis import RedisStreamBroker

from kai.config import Settings

log = logging.getLogger(__name__)

# What kAI overrides, calls or reads that taskiq-redis does not document (the attributes
# read are set in __init__), as "module:Class.attribute".
SEAMS = (
    "taskiq_redis.redis_broker:RedisStreamBroker.__init__",
    "taskiq_redis.redis_broker:RedisStreamBroker.listen",
    "taskiq_redis.redis_broker:RedisStreamBroker._ack_generator",
    "taskiq_redis.redis_broker:RedisStreamBroker._declare_consumer_group",
    "taskiq_redis.redis_broker:RedisStreamBroker.startup",
)

# Bounds a request to Redis when it hangs: the client hears SERVICE_UNAVAILABLE instead.
KICK_TIMEOUT = 5.0
RECLAIM_EVERY = 1.0
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0)
DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class KaiStreamBroker(RedisStreamBroker):
    """RedisStreamBroker whose reader outlives Redis restarts.

    taskiq-redis's own reader ends the worker on the first connection error,
    and after a restart without persistence the consumer group is gone. This
    one reconnects, declares the group again (reading from the stream's start,
    so no message added meanwhile is skipped), reclaims idle messages even when
    no new one arrives, and takes one message per read so a killed worker
    strands no more messages than it was running.
    """

    _failures = 0

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        while True:
            try:
                async with contextlib.aclosing(self._read()) as reading:
                    async for message in reading:
                        yield message
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                log.warning("consumer group %s is gone; declaring it", self.consumer_group_name)
                with contextlib.suppress(*DOWN):
                    await self._declare_consumer_group()
            except DOWN as exc:
                if not self._failures:
                    log.warning("task broker connection lost: %r", exc)
                delay = RECONNECT_DELAYS[min(self._failures, len(RECONNECT_DELAYS) - 1)]
                self._failures += 1
                await asyncio.sleep(delay)

    async def _read(self) -> AsyncGenerator[AckableMessage, None]:
        async with Redis(connection_pool=self.connection_pool) as redis:
            # The group may be missing after a restart; XREADGROUP then says NOGROUP.
            next_reclaim = 0.0
            while True:
                fetched: Any = await redis.xreadgroup(
                    self.consumer_group_name,
                    self.consumer_name,
                    {self.queue_name: ">"},
                    block=self.block,
                    count=self.count,
                )
                if self._failures:
                    log.info("task broker reconnected")
                    self._failures = 0
                for _stream, entries in fetched or []:
                    for entry_id, fields in entries:
                        yield self._message(entry_id, fields)
                if time.monotonic() >= next_reclaim:
                    next_reclaim = time.monotonic() + RECLAIM_EVERY
                    for entry_id, fields in await self._reclaim(redis):
                        log.info("redelivering unacknowledged task message %s", entry_id)
                        yield self._message(entry_id, fields)

    async def _reclaim(self, redis: Redis) -> list[tuple[bytes, dict[bytes, bytes]]]:
        lock = redis.lock(
            f"autoclaim:{self.consumer_group_name}:{self.queue_name}",
            timeout=self.unacknowledged_lock_timeout,
            blocking=False,
        )
        if not await lock.acquire():
            return []
        try:
            claimed = await redis.xautoclaim(
                self.queue_name,
                self.consumer_group_name,
                self.consumer_name,
                min_idle_time=self.idle_timeout,
                count=self.unacknowledged_batch_size,
            )
        finally:
            with contextlib.suppress(LockError, *DOWN):
                await lock.release()
        return [(entry_id, fields) for entry_id, fields in claimed[1] if fields]

    def _message(self, entry_id: bytes, fields: dict[bytes, bytes]) -> AckableMessage:
        ack = self._ack_generator(entry_id, self.queue_name)
        return AckableMessage(data=fields[b"data"], ack=ack)

    def _ack_generator(self, id: Any, queue_name: str) -> Callable[[], Awaitable[None]]:
        ack = super()._ack_generator(id, queue_name)

        async def quiet_ack() -> None:
            # Unacknowledged, the message comes back after idle_timeout: one
            # wake-up too many, which claims nothing or the next best task.
            try:
                await ack()
            except DOWN as exc:
                log.warning("could not acknowledge task message %s: %r", id, exc)

        return quiet_ack

    async def outstanding(self) -> int:
        """Messages not yet acknowledged: waiting in the stream, or delivered and unacked."""
        async with Redis(connection_pool=self.connection_pool) as redis:
            try:
                groups = await redis.xinfo_groups(self.queue_name)
            except ResponseError:  # no stream: Redis lost its data, or it never had any
                groups = []
            length = int(await redis.xlen(self.queue_name))
        for group in groups:
            if _text(group["name"]) == self.consumer_group_name:
                lag = group.get("lag")
                # Trimming undelivered entries leaves `lag` counting them (Redis
                # 7.0); once any was trimmed, everything left is undelivered.
                waiting = length if lag is None else min(int(lag), length)
                return waiting + int(group["pending"])
        # No group yet: the first worker declares it from the stream's start.
        await self._declare_consumer_group()
        return length

    async def hand_back_pending(self) -> int:
        """Messages this consumer received but never ran go back to the stream as new ones."""
        async with Redis(connection_pool=self.connection_pool) as redis:
            held = await redis.xpending_range(
                self.queue_name,
                self.consumer_group_name,
                min="-",
                max="+",
                count=10_000,
                consumername=self.consumer_name,
            )
            for entry in held:
                entry_id = entry["message_id"]
                found: Any = await redis.xrange(self.queue_name, min=entry_id, max=entry_id)
                async with redis.pipeline(transaction=True) as pipe:
                    if found:
                        pipe.xadd(self.queue_name, found[0][1], maxlen=self.maxlen)
                    pipe.xack(self.queue_name, self.consumer_group_name, entry_id)
                    await pipe.execute()
            await redis.xgroup_delconsumer(
                self.queue_name, self.consumer_group_name, self.consumer_name
            )
        return len(held)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def build_broker(settings: Settings) -> KaiStreamBroker:
    assert settings.redis_url
    return KaiStreamBroker(
        settings.redis_url,
        queue_name=settings.task_stream,
        consumer_group_name=settings.task_consumer_group,
        # From the stream's start: messages sent before any worker existed count.
        consumer_id="0",
        maxlen=settings.task_stream_maxlen,
        idle_timeout=int(settings.task_redeliver_seconds * 1000),
        unacknowledged_lock_timeout=settings.task_reclaim_lock_seconds,
        xread_block=1000,
        xread_count=1,
        # Reclaimed messages wait in this worker until a slot frees: take few.
        unacknowledged_batch_size=settings.task_concurrency,
        # A worker's reader holds one connection; each running task acks on another.
        max_connection_pool_size=max(50, settings.task_concurrency + 10),
        socket_connect_timeout=KICK_TIMEOUT,
        socket_timeout=KICK_TIMEOUT + 5,
        # After Redis restarts, every pooled connection is stale and fails once; redis-py
        # does not retry by default, so each one failed a request (an enqueueTask answered
        # SERVICE_UNAVAILABLE seconds after Redis was back). One immediate retry on a new
        # connection: at worst a wake-up is sent twice, which claims nothing more.
        retry=Retry(NoBackoff(), 1),
    )
