"""Reading tasks: one, a page of each agent's, counts, stale ones, and changes as they happen."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.errors import BadUserInput
from kai.events.hub import Overflow
from kai.events.log import EventLog
from kai.models.agent_event import AgentEventType
from kai.models.base import utcnow
from kai.models.task import TERMINAL, Task, TaskState
from kai.services.pagination import Page, decode_cursor, make_page, page_size


class TaskQueries:
    """The read side of TaskService, which provides the session maker and the event log."""

    _sessionmaker: async_sessionmaker[AsyncSession]
    _events: EventLog

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

    async def list_many(
        self,
        *,
        agent_ids: Sequence[str],
        state: TaskState | None,
        first: int | None,
        after: str | None,
    ) -> dict[str, Page[Task]]:
        """The same page of each agent's tasks, newest first, in one statement."""
        size = page_size(first)
        filters: list[ColumnElement[bool]] = [col(Task.agent_id).in_(agent_ids)]
        if state is not None:
            filters.append(col(Task.state) == state)
        if (cursor := _task_cursor(after)) is not None:
            created_at, task_id = cursor
            filters.append(
                or_(
                    col(Task.created_at) < created_at,
                    and_(col(Task.created_at) == created_at, col(Task.id) < task_id),
                )
            )
        rank = (
            func.row_number()
            .over(
                partition_by=col(Task.agent_id),
                order_by=(col(Task.created_at).desc(), col(Task.id).desc()),
            )
            .label("rank")
        )
        ranked = select(Task, rank).where(*filters).subquery()
        newest = aliased(Task, ranked)
        query = (
            select(newest)
            .where(ranked.c.rank <= size + 1)
            .order_by(ranked.c.agent_id, ranked.c.created_at.desc(), ranked.c.id.desc())
        )
        async with self._sessionmaker() as session:
            rows = (await session.scalars(query)).all()
        by_agent: dict[str, list[Task]] = defaultdict(list)
        for row in rows:
            assert row.agent_id is not None  # selected by agent
            by_agent[row.agent_id].append(row)
        return {
            agent_id: make_page(
                by_agent[agent_id], size, lambda row: f"{row.created_at.isoformat()}|{row.id}"
            )
            for agent_id in agent_ids
        }

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


def _task_cursor(after: str | None) -> tuple[datetime, str] | None:
    cursor = decode_cursor(after)
    if cursor is None:
        return None
    created, _, task_id = cursor.partition("|")
    try:
        created_at = datetime.fromisoformat(created)
    except ValueError:
        created_at = None
    if created_at is None or created_at.tzinfo is None or not task_id.startswith("tsk_"):
        raise BadUserInput("Invalid cursor.", field="after")
    return created_at, task_id
