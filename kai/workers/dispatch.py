"""The dispatchers' shared cancellation, and the in-process dispatcher (the interface they
implement is kai.services.dispatch).

A wake-up names no task: the worker that gets it claims the best due task
(highest priority, then oldest), so priorities hold however the broker orders
its messages. Cancellation goes to every process over the event hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from kai.events.hub import EventHub
from kai.services.dispatch import CANCEL_CHANNEL, SYSTEM_TASKS_CHANNEL

log = logging.getLogger(__name__)


class HubCancel:
    """Cancel requests and system-task nudges, published to every process; workers
    listen on CANCEL_CHANNEL and SYSTEM_TASKS_CHANNEL."""

    def __init__(self, hub: EventHub):
        self._hub = hub

    async def cancel(self, task_id: str) -> None:
        await self._hub.publish(CANCEL_CHANNEL, {"taskId": task_id})

    async def wake_system(self) -> None:
        await self._hub.publish(SYSTEM_TASKS_CHANNEL, {})


class LocalDispatcher(HubCancel):
    """The embedded default: `concurrency` workers inside the server process."""

    def __init__(self, hub: EventHub, *, concurrency: int):
        super().__init__(hub)
        self._concurrency = concurrency
        self._wakeups: asyncio.Queue[str] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []

    def start(self, run_next: Callable[[], Awaitable[bool]]) -> None:
        self._workers = [
            asyncio.create_task(self._work(run_next)) for _ in range(self._concurrency)
        ]

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def dispatch(self, task_id: str) -> None:
        self._wakeups.put_nowait(task_id)

    async def _work(self, run_next: Callable[[], Awaitable[bool]]) -> None:
        while True:
            await self._wakeups.get()
            try:
                await run_next()
            except Exception:
                log.exception("task runner failed")
