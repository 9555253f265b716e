"""The writes that end a task's run, and the runner's own reads and writes, outlasting a
database outage (kai.workers.runner runs the tasks)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from kai.db import database_unavailable
from kai.models.task import Task, TaskState
from kai.services.task import TaskService
from kai.workers.progress import COMPLETED_PROGRESS, CoalescedProgress

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# While the database is away, the runner's own reads and writes are tried again this often
# (doubling from the first, up to the last), for this long at most.
OUTAGE_RETRY_SECONDS = (0.1, 2.0)
OUTAGE_GIVE_UP_SECONDS = 300.0


async def outlasting_outages(task_id: str, call: Callable[[], Awaitable[_T]]) -> _T:
    """`call()`, one of the runner's own reads or writes of a task, tried again while the
    database is away (restarting, failing over) instead of failing the run with it.
    Past OUTAGE_GIVE_UP_SECONDS the error is raised: the lease watchdog takes over."""
    delay, longest = OUTAGE_RETRY_SECONDS
    give_up = asyncio.get_running_loop().time() + OUTAGE_GIVE_UP_SECONDS
    failed = False
    while True:
        try:
            value = await call()
        except Exception as exc:
            if not database_unavailable(exc) or asyncio.get_running_loop().time() > give_up:
                raise
            if not failed:
                log.warning("task %s: database unavailable, trying again: %r", task_id, exc)
            failed = True
        else:
            if failed:
                log.info("task %s: database back", task_id)
            return value
        await asyncio.sleep(delay)
        delay = min(delay * 2, longest)


async def settled(job: asyncio.Task[_T], progress: CoalescedProgress) -> _T:
    """The job's result; before it is written, the task's last progress report is
    (unless a COMPLETED outcome carries the same value)."""
    try:
        result = await job
    except BaseException:
        await progress.settle(None)
        raise
    await progress.settle(COMPLETED_PROGRESS)
    return result


class OutcomeWrites:
    """The writes that end a run, outlasting a database outage. A run whose outcome could
    not be written would stay RUNNING until the lease watchdog counts the attempt against
    `retries` ("worker lost"): a restart of the database must not cost a finished task.
    An outage longer than the lease gives the task away all the same, and then the
    write, guarded by the worker's id, moves nothing."""

    def __init__(self, tasks: TaskService):
        self._tasks = tasks

    async def finish(
        self,
        *,
        task_id: str,
        state: TaskState,
        expect: Sequence[TaskState],
        worker_id: str,
        result: Any = None,
    ) -> None:
        await outlasting_outages(
            task_id,
            lambda: self._tasks.finish(
                task_id=task_id, state=state, expect=expect, result=result, worker_id=worker_id
            ),
        )

    async def retry_or_fail(self, *, task: Task, error: str, worker_id: str) -> None:
        await outlasting_outages(
            task.id,
            lambda: self._tasks.retry_or_fail(task=task, error=error, worker_id=worker_id),
        )

    async def hand_back(self, *, task_id: str, worker_id: str, delay_seconds: float = 0.0) -> None:
        await outlasting_outages(
            task_id,
            lambda: self._tasks.hand_back(
                task_id=task_id, worker_id=worker_id, delay_seconds=delay_seconds
            ),
        )
