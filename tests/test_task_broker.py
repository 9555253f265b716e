"""The task broker on Redis: enqueueing works again as soon as Redis is back from a
restart, on every pooled connection (kai.workers.redis_stream_broker)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kai.events.hub import EventHub
from kai.workers.redis_stream_broker import build_broker
from kai.workers.taskiq_dispatch import TaskiqDispatcher
from tests.support.redis_server import RedisProcess
from tests.support.settings import make_settings

# Wake-ups sent at once: each draws a pooled connection of its own.
AT_ONCE = 8


async def test_every_wake_up_is_sent_right_after_a_redis_restart(
    redis: RedisProcess, tmp_path: Path
) -> None:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'kai.db'}", tmp_path, redis_url=redis.url
    )
    hub = EventHub("memory://", buffer_size=16)
    dispatcher = TaskiqDispatcher(hub, build_broker(settings))
    await hub.start()
    await dispatcher.start()
    try:
        await asyncio.gather(*(dispatcher.dispatch(f"before-{i}") for i in range(AT_ONCE)))
        # Empty, as after a restart without persistence; every pooled connection is stale.
        await asyncio.to_thread(redis.restart)
        sent = await asyncio.gather(
            *(dispatcher.dispatch(f"after-{i}") for i in range(AT_ONCE)), return_exceptions=True
        )
        assert [outcome for outcome in sent if isinstance(outcome, BaseException)] == []
        assert await dispatcher.broker.outstanding() == AT_ONCE
    finally:
        await dispatcher.stop()
        await hub.stop()
