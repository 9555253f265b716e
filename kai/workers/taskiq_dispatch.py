"""Tasks on Redis: wake-ups are taskiq messages on a Redis stream, read by `kai worker`s.

A message means "run the best due task" (it names the task it was sent for, for
the logs only): the worker claims the best due PENDING row, so priorities hold
whatever order Redis delivers in, and a message more or a message less never
runs a task twice (the claim is a guarded UPDATE) nor loses one for good.

Messages are acknowledged after the run; a dead worker's are delivered again
(kai.workers.redis_stream_broker). Messages Redis itself lost
(a restart without persistence, trimming past `maxlen`) are re-sent by the
sweep, which counts what the rows wait for against what the stream holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from taskiq.kicker import AsyncKicker

from kai.events.hub import EventHub
from kai.workers.dispatch import HubCancel
from kai.workers.redis_stream_broker import KICK_TIMEOUT, KaiStreamBroker

log = logging.getLogger(__name__)

RUN_NEXT = "kai.run_next"
# Lost wake-ups re-sent per sweep, at most.
RESEND_MAX = 500


class TaskiqDispatcher(HubCancel):
    """Wake-ups over a Redis stream; cancels over the event hub (HubCancel)."""

    def __init__(self, hub: EventHub, broker: KaiStreamBroker):
        super().__init__(hub)
        self.broker = broker
        self._kicker: AsyncKicker[Any, Any] = AsyncKicker(RUN_NEXT, broker, labels={})
        self._last_shortfall = 0

    async def start(self) -> None:
        await self.broker.startup()  # declares the consumer group

    async def stop(self) -> None:
        await self.broker.shutdown()

    async def dispatch(self, task_id: str | None) -> None:
        async with asyncio.timeout(KICK_TIMEOUT):
            await self._kicker.kiq(task_id)

    async def resend_lost(self, waiting: Callable[[], Awaitable[tuple[int, int]]]) -> int:
        """Re-send the wake-ups Redis lost; `waiting` counts (PENDING with one out, RUNNING).

        Redis is read before and after the rows, and the larger count is used:
        a task finishing meanwhile then looks like a spare message, never a lost
        one, and a dispatch in flight (row marked, message not yet added) has
        one more chance to be seen. Only a shortfall seen on two sweeps in a row
        counts, and the stream never gets more than half of `maxlen` undelivered
        from here, so trimming cannot eat what this sends.
        """
        before = await self.broker.outstanding()
        pending, running = await waiting()
        outstanding = max(before, await self.broker.outstanding())
        shortfall = max(0, pending + running - outstanding)
        lost = min(shortfall, self._last_shortfall, pending, RESEND_MAX)
        self._last_shortfall = shortfall
        room = (self.broker.maxlen or RESEND_MAX) // 2 - outstanding
        lost = min(lost, max(room, 0))
        if lost <= 0:
            return 0
        log.warning("re-sending %d task wake-ups that Redis lost", lost)
        for _ in range(lost):
            await self.dispatch(None)
        self._last_shortfall = 0
        return lost
