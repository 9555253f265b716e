"""Tasks by state and the queue's depth, counted every few seconds for /metrics.

Counted in the database (the truth, shared by all processes) by a loop, not at
scrape time: a scrape must not wait on a database query, and one count serves
every scrape in between.
"""

from __future__ import annotations

import asyncio
import logging

from kai.models.task import TaskState
from kai.observability import metrics
from kai.services.task_queries import TaskQueries

log = logging.getLogger(__name__)

COUNT_INTERVAL = 5.0


async def count_tasks(tasks: TaskQueries) -> None:
    by_state, due = await tasks.totals()
    for state in TaskState:
        metrics.TASKS.labels(state.value).set(by_state.get(state, 0))
    metrics.TASKS_DUE.set(due)


async def count_tasks_forever(tasks: TaskQueries, every: float = COUNT_INTERVAL) -> None:
    while True:
        try:
            await count_tasks(tasks)
        except Exception as exc:  # the database blinked: the next round counts again
            log.warning("could not count tasks for metrics: %r", exc)
        await asyncio.sleep(every)
