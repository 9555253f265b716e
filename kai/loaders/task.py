from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from kai.loaders.by_id import ByIdLoader
from kai.models.task import Task, TaskState
from kai.services.pagination import Page
from kai.services.task import TaskService

TaskFilter = tuple[TaskState | None, int | None, str | None]
TasksKey = tuple[str, TaskFilter]


class TaskByIdLoader(ByIdLoader[Task]):
    """Approval.task for a page of approvals: one statement."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        super().__init__(sessionmaker, Task)


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
