"""The embedded default: background tasks run inside the server process (and, in every
server process, the task sweep, the schedule tick and the approval sweep)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from kai.services.shared import Services
from kai.workers.dispatch import LocalDispatcher
from kai.workers.runner import TaskRunner
from kai.workers.sweeper import expire_approvals_forever, run_schedules_forever, sweep_forever
from kai.workers.webhook_sender import sender_for


@asynccontextmanager
async def run_tasks_here(services: Services) -> AsyncIterator[TaskRunner | None]:
    """Start in-process workers (when the dispatcher is local) and the task sweeper."""
    settings = services.settings
    runner: TaskRunner | None = None
    dispatcher = services.dispatcher
    housekeeping: list[asyncio.Task[None]] = []
    if isinstance(dispatcher, LocalDispatcher):
        runner = TaskRunner.for_services(services)
        await runner.start()
        dispatcher.start(runner.run_next)
        # Webhooks are sent where tasks run: here in the embedded setup, else by workers.
        housekeeping.append(asyncio.create_task(sender_for(services).run()))
    sweeper = asyncio.create_task(
        sweep_forever(
            services.tasks,
            lease_seconds=settings.task_lease_seconds,
            every=settings.task_sweep_seconds,
        )
    )
    housekeeping.append(
        asyncio.create_task(
            run_schedules_forever(services.schedules, every=settings.schedule_tick_seconds)
        )
    )
    housekeeping.append(asyncio.create_task(expire_approvals_forever(services)))
    housekeeping.append(sweeper)
    try:
        yield runner
    finally:
        for task in housekeeping:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if isinstance(dispatcher, LocalDispatcher):
            await dispatcher.stop()
        if runner is not None:
            await runner.stop()
