"""Housekeeping every process runs: due tasks get their wake-up, lost tasks are recovered,
due schedules start their tasks, approvals nobody decided in time expire."""

from __future__ import annotations

import logging
from datetime import timedelta

from kai import periodic
from kai.models.base import utcnow
from kai.services.dispatch import LossyDispatcher
from kai.services.schedule import ScheduleService
from kai.services.shared import Services
from kai.services.task import TaskService

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
    await periodic.every(
        every, lambda: sweep(tasks, lease_seconds=lease_seconds), what="task sweep"
    )


async def run_schedules_forever(schedules: ScheduleService, *, every: float) -> None:
    """Every process ticks: the claim in the database (not an elected scheduler) makes
    each due time start once, and any one process left running keeps schedules going."""
    await periodic.every(every, schedules.run_due, what="schedule tick")


async def expire_approvals_forever(services: Services) -> None:
    """Every process sweeps, at the task sweep's pace: the guarded UPDATE of each expiry
    (not an elected sweeper) makes each approval expire once, on whichever gets there."""
    every = services.settings.task_sweep_seconds
    await periodic.every(every, services.approvals.expire_due, what="approval sweep")
