"""Tasks by state and the queue's depth, counted every few seconds for /metrics.

Counted in the database (the truth, shared by all processes) by a loop, not at
scrape time: a scrape must not wait on a database query, and one count serves
every scrape in between.
"""

from __future__ import annotations

from kai import periodic
from kai.models.task import TaskState
from kai.observability import metrics
from kai.services.task_queries import TaskQueries

COUNT_INTERVAL = 5.0


async def count_tasks(tasks: TaskQueries) -> None:
    by_state, due = await tasks.totals()
    for state in TaskState:
        metrics.TASKS.labels(state.value).set(by_state.get(state, 0))
    metrics.TASKS_DUE.set(due)


async def count_tasks_forever(tasks: TaskQueries, every: float = COUNT_INTERVAL) -> None:
    await periodic.every(every, lambda: count_tasks(tasks), what="counting tasks for metrics")
