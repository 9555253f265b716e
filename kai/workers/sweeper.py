"""Housekeeping every process runs: due tasks get their wake-up, lost tasks are recovered."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from kai.models.base import utcnow
from kai.services.task import TaskService
from kai.workers.dispatch import LossyDispatcher

log = logging.getLogger(__name__)

LOST_WORKER_ERROR = "worker lost"


async def sweep(tasks: TaskService, *, lease_seconds: float) -> None:
    """One round: retry or fail RUNNING tasks whose worker went silent, then dispatch due ones."""
    cutoff = utcnow() - timedelta(seconds=lease_seconds)
    for task in await tasks.stale(older_than=cutoff):
        log.warning("task %s lost its worker %s; recovering it", task.id, task.worker_id)
        await tasks.retry_or_fail(task=task, error=LOST_WORKER_ERROR, worker_id=task.worker_id)
    await tasks.dispatch_due()
    if isinstance(tasks.dispatcher, LossyDispatcher):
        await tasks.dispatcher.resend_lost(tasks.waiting_for_wakeup)


async def sweep_forever(tasks: TaskService, *, lease_seconds: float, every: float) -> None:
    while True:
        try:
            await sweep(tasks, lease_seconds=lease_seconds)
        except Exception as exc:  # a database or broker outage: try again next round
            log.warning("task sweep failed: %r", exc)
        await asyncio.sleep(every)
