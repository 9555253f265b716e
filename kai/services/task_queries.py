"""Reading tasks: one, a page of each agent's, counts, stale ones, and changes as they happen."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.events.hub import Overflow
from kai.events.log import EventLog
from kai.models.agent import Agent
from kai.models.agent_event import AgentEventType
from kai.models.base import utcnow
from kai.models.task import TERMINAL, Task, TaskState
from kai.security.principal import Principal
from kai.services.pagination import Kind, Page, Pager, Sorting, few, ordering
from kai.services.task_shares import users_task

# How `tasks` sorts: by each field of TaskOrderField, then by id.
TASK_ORDER_KEYS: dict[str, tuple[Any, Kind]] = {
    "CREATED_AT": (col(Task.created_at), "datetime"),
    "PRIORITY": (col(Task.priority), "int"),
}
# An agent's own tasks: newest first.
AGENT_TASKS_ORDER = ordering("agent.tasks", TASK_ORDER_KEYS, col(Task.id), Sorting())


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """What `tasks(filter:)` keeps; None keeps all, an empty list none."""

    agent_id: str | None = None
    states: Sequence[TaskState] | None = None
    types: Sequence[str] | None = None
    schedule_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


class TaskQueries:
    """The read side of TaskService, which provides the session maker and the event log."""

    _sessionmaker: async_sessionmaker[AsyncSession]
    _events: EventLog
    _pager: Pager

    async def get(self, *, task_id: str) -> Task | None:
        async with self._sessionmaker() as session:
            return await session.get(Task, task_id, populate_existing=True)

    async def stale(self, *, older_than: datetime) -> Sequence[Task]:
        """RUNNING tasks whose worker stopped heartbeating."""
        async with self._sessionmaker() as session:
            return (
                await session.scalars(
                    select(Task).where(
                        col(Task.state) == TaskState.RUNNING, col(Task.heartbeat_at) < older_than
                    )
                )
            ).all()

    async def counts(self, agent_ids: Sequence[str]) -> dict[str, dict[TaskState, int]]:
        async with self._sessionmaker() as session:
            rows = (
                await session.execute(
                    select(col(Task.agent_id), col(Task.state), func.count())
                    .where(col(Task.agent_id).in_(agent_ids))
                    .group_by(col(Task.agent_id), col(Task.state))
                )
            ).all()
        out: dict[str, dict[TaskState, int]] = {}
        for agent_id, state, count in rows:
            out.setdefault(str(agent_id), {})[TaskState(state)] = int(count)
        return out

    async def totals(self) -> tuple[dict[TaskState, int], int]:
        """(tasks by state, all processes; PENDING tasks due now): what /metrics reports."""
        async with self._sessionmaker() as session:
            rows = (
                await session.execute(
                    select(col(Task.state), func.count()).group_by(col(Task.state))
                )
            ).all()
            due = await session.scalar(
                select(func.count()).where(
                    col(Task.state) == TaskState.PENDING, col(Task.not_before) <= utcnow()
                )
            )
        return {TaskState(state): int(count) for state, count in rows}, int(due or 0)

    async def waiting_for_wakeup(self) -> tuple[int, int]:
        """(PENDING tasks with a wake-up out, RUNNING tasks): what broker messages are for."""
        async with self._sessionmaker() as session:
            rows = (
                await session.execute(
                    select(col(Task.state), func.count())
                    .where(
                        users_task(),  # the server's own tasks have no wake-ups
                        or_(
                            and_(
                                col(Task.state) == TaskState.PENDING,
                                col(Task.dispatched).is_(True),
                            ),
                            col(Task.state) == TaskState.RUNNING,
                        ),
                    )
                    .group_by(col(Task.state))
                )
            ).all()
        counts = {TaskState(state): int(count) for state, count in rows}
        return counts.get(TaskState.PENDING, 0), counts.get(TaskState.RUNNING, 0)

    async def page(
        self,
        *,
        principal: Principal,
        filter: TaskFilter,
        sorting: Sorting,
        first: int | None,
        after: str | None,
    ) -> Page[Task]:
        """The tasks of the caller's agents, whoever queued them (ADMIN: every agent's; an
        API key limited to some agents: theirs). The server's own work, which no agent
        runs, is never listed."""
        filters: list[ColumnElement[bool]] = [col(Task.agent_id).is_not(None)]
        if not principal.is_admin:
            owned = select(col(Agent.id)).where(col(Agent.owner_id) == principal.user_id)
            filters.append(col(Task.agent_id).in_(owned))
        if principal.agent_ids is not None:
            filters.append(col(Task.agent_id).in_(sorted(principal.agent_ids)))
        if filter.agent_id is not None:
            filters.append(col(Task.agent_id) == filter.agent_id)
        if (states := few(filter.states, field="filter.states")) is not None:
            filters.append(col(Task.state).in_(states))
        if (types := few(filter.types, field="filter.types")) is not None:
            filters.append(col(Task.type).in_(types))
        if filter.schedule_id is not None:
            filters.append(col(Task.schedule_id) == filter.schedule_id)
        if filter.created_after is not None:
            filters.append(col(Task.created_at) > filter.created_after)
        if filter.created_before is not None:
            filters.append(col(Task.created_at) < filter.created_before)
        order = ordering("tasks", TASK_ORDER_KEYS, col(Task.id), sorting)
        return await self._pager.fetch(
            self._sessionmaker, Task, filters, order, first=first, after=after
        )

    async def list_many(
        self,
        *,
        agent_ids: Sequence[str],
        state: TaskState | None,
        first: int | None,
        after: str | None,
    ) -> dict[str, Page[Task]]:
        """The same page of each agent's tasks, newest first, in one statement."""
        filters = [] if state is None else [col(Task.state) == state]
        return await self._pager.fetch_each(
            self._sessionmaker,
            Task,
            col(Task.agent_id),
            agent_ids,
            filters,
            AGENT_TASKS_ORDER,
            first=first,
            after=after,
        )

    async def watch(self, *, task_id: str) -> AsyncGenerator[Task, None]:
        """The task now, then again after each change of it; ends after a terminal state.

        Changes are found by following the agent's event log (every change of a
        task appends a TASK_PROGRESS or TASK_COMPLETE event in its transaction)
        from a seq read before the first look at the row, so none is missed; each
        one is then read from the row, the truth. Ends early if the task (or its
        agent) is deleted.
        """
        task = await self.get(task_id=task_id)
        if task is None or task.agent_id is None:  # the server's own tasks have no events
            return
        agent_id = task.agent_id
        after = await self._events.last_seq(agent_id=agent_id)
        task = await self.get(task_id=task_id)
        if task is None:
            return
        yield task
        if task.state in TERMINAL:
            return
        last = _snapshot(task)
        while True:
            events = self._events.follow(agent_id=agent_id, after=after)
            try:
                async with aclosing(events):
                    async for event in events:
                        after = event.seq
                        if event.type not in _TASK_EVENTS or event.data.get("taskId") != task_id:
                            continue
                        current = await self.get(task_id=task_id)
                        if current is None:
                            return
                        if _snapshot(current) != last:
                            last = _snapshot(current)
                            yield current
                        if current.state in TERMINAL:
                            return
                return  # the agent was deleted, and its tasks with it
            except Overflow:
                continue  # fell behind a busy agent: catch up from the stored events


_TASK_EVENTS = (AgentEventType.TASK_PROGRESS, AgentEventType.TASK_COMPLETE)


def _snapshot(task: Task) -> tuple[Any, ...]:
    """What a watcher sees change."""
    return (task.state, task.progress, task.attempts, task.error, task.started_at)
