"""DataLoaders, one set per request (or per subscription event), named XByYLoader."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kai.loaders.agent import CommandStatsByAgentIdLoader
from kai.loaders.user import UserByIdLoader
from kai.services.agent_status import AgentStatusService


@dataclass(slots=True)
class Loaders:
    user_by_id: UserByIdLoader
    command_stats_by_agent_id: CommandStatsByAgentIdLoader

    @classmethod
    def create(cls, sessionmaker: async_sessionmaker[AsyncSession]) -> Loaders:
        return cls(
            user_by_id=UserByIdLoader(sessionmaker),
            command_stats_by_agent_id=CommandStatsByAgentIdLoader(
                AgentStatusService(sessionmaker=sessionmaker)
            ),
        )
