from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from kai.loaders.by_id import ByIdLoader
from kai.models.agent import Agent
from kai.models.agent_log import AgentLog, LogLevel
from kai.models.command import CommandRecord
from kai.services.agent_log import AgentLogService
from kai.services.agent_status import AgentStatusService, CommandStats
from kai.services.pagination import Page


class AgentByIdLoader(ByIdLoader[Agent]):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        super().__init__(sessionmaker, Agent)


class CommandByIdLoader(ByIdLoader[CommandRecord]):
    """Approval.commandResult for a page of approvals: one statement."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        super().__init__(sessionmaker, CommandRecord)


class CommandStatsByAgentIdLoader(DataLoader[str, CommandStats]):
    def __init__(self, status: AgentStatusService):
        async def load(agent_ids: list[str]) -> Sequence[CommandStats]:
            stats = await status.command_stats(agent_ids)
            return [stats.get(agent_id, CommandStats()) for agent_id in agent_ids]

        super().__init__(load_fn=load)


LogFilter = tuple[LogLevel | None, datetime | None, int | None, str | None]
LogsKey = tuple[str, LogFilter]


class LogsByAgentIdLoader(DataLoader[LogsKey, Page[AgentLog]]):
    """Keys are (agent id, (level, since, first, after)); one statement per distinct filter."""

    def __init__(self, logs: AgentLogService):
        async def load(keys: list[LogsKey]) -> Sequence[Page[AgentLog]]:
            groups: dict[LogFilter, list[str]] = defaultdict(list)
            for agent_id, filters in keys:
                groups[filters].append(agent_id)
            pages: dict[LogsKey, Page[AgentLog]] = {}
            for filters, agent_ids in groups.items():
                level, since, first, after = filters
                found = await logs.list_many(
                    agent_ids=agent_ids, level=level, since=since, first=first, after=after
                )
                pages.update({(agent_id, filters): page for agent_id, page in found.items()})
            return [pages[key] for key in keys]

        super().__init__(load_fn=load)
