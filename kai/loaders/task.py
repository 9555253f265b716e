from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from strawberry.dataloader import DataLoader

from kai.models.task import Task, TaskState
from kai.services.pagination import Page
from kai.services.task import TaskService

TaskFilter = tuple[TaskState | None, int | None, str | None]
TasksKey = tuple[str, TaskFilter]


class TaskByIdLoader(DataLoader[str, Task | None]):
    """Approval.task for a page of approvals: one statement."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        async def load(ids: list[str]) -> Sequence[Task | None]:
            async with sessionmaker() as session:
                rows = await session.scalars(select(Task).where(col(Task.id).in_(ids)))
                by_id = {row.id: row for row in rows}
            return [by_id.get(task_id) for task_id in ids]

        super().__init__(load_fn=load)


class TasksByAgentIdLoader(DataLoader[TasksKey, Page[Task]]):
    """Keys are (agent id, (state, first, after)); one statement per distinct filter."""

    def __init__(self, tasks: TaskService):
        async def load(keys: list[TasksKey]) -> Sequence[Page[Task]]:
            groups: dict[TaskFilter, list[str]] = defaultdict(list)
            for agent_id, filters in keys:
                groups[filters].append(agent_id)
            pages: dict[TasksKey, Page[Task]] = {}
            for filters, agent_ids in groups.items():
                state, first, after = filters
                found = await tasks.list_many(
                    agent_ids=agent_ids, state=state, first=first, after=after
                )
                pages.update({(agent_id, filters): page for agent_id, page in found.items()})
            return [pages[key] for key in keys]

        super().__init__(load_fn=load)


class TaskCountsByAgentIdLoader(DataLoader[str, Mapping[TaskState, int]]):
    def __init__(self, tasks: TaskService):
        async def load(agent_ids: list[str]) -> Sequence[Mapping[TaskState, int]]:
            counts = await tasks.counts(agent_ids)
            return [counts.get(agent_id, {}) for agent_id in agent_ids]

        super().__init__(load_fn=load)
