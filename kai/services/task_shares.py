"""Fair shares of the task workers: how long a task may run, how many a user may queue
and run at once, and the split between users' tasks and the server's own.

Users' tasks (they have an agent) reach workers through wake-up messages (the
dispatcher). The server's own tasks (no agent: a file's indexing) never do: every
process that runs tasks keeps `KAI_TASK_SYSTEM_CONCURRENCY` slots of its own for them,
which claim only system tasks, so no number of users' tasks can hold them up.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.models.task import Task, TaskState


@dataclass(frozen=True)
class TaskShares:
    # A task given no timeout gets this one; the server's own tasks get `system_timeout`.
    default_timeout_seconds: float = 3600.0
    system_timeout_seconds: float = 300.0
    # Per user: tasks waiting (PENDING) at most, and RUNNING at once.
    queued_per_user: int = 1000
    running_per_user: int = 2

    def timeout_of(self, task: Task) -> float:
        """The task's own timeout, else its kind's (rows from before every task had one)."""
        if task.timeout_seconds:
            return task.timeout_seconds
        if task.agent_id is None:
            return self.system_timeout_seconds
        return self.default_timeout_seconds


def users_task() -> ColumnElement[bool]:
    return col(Task.agent_id).is_not(None)


def system_task() -> ColumnElement[bool]:
    return col(Task.agent_id).is_(None)


@functools.cache
def owner_may_run_more(shares: TaskShares) -> ColumnElement[bool]:
    """The task's owner runs fewer of their tasks than `running_per_user` right now.

    Built once per share (an expression is immutable, and statements reuse it): building
    the aliased subquery took a sixth of a worker's CPU when it was built per claim.
    """
    running = aliased(Task)
    count = (
        select(func.count())
        .select_from(running)
        .where(
            col(running.owner_id) == col(Task.owner_id),
            col(running.state) == TaskState.RUNNING,
            col(running.agent_id).is_not(None),
        )
        .scalar_subquery()
    )
    return count < shares.running_per_user
