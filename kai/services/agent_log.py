"""Agent logs: stored, filtered by level and time, paged by cursor; each one is also a LOG event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.errors import BadUserInput
from kai.events.log import EventLog
from kai.models.agent_event import AgentEventType
from kai.models.agent_log import LEVEL_ORDER, AgentLog, LogLevel
from kai.services.pagination import Order, Page, Pager

MAX_MESSAGE = 10_000
# An agent's lines: newest first (ids grow as lines are written).
LOGS_ORDER = Order(scope="agent.logs/ID/DESC", id=col(AgentLog.id), id_kind="int", descending=True)


class AgentLogService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        events: EventLog,
        pager: Pager,
    ):
        self._sessionmaker = sessionmaker
        self._events = events
        self._pager = pager

    async def add(
        self, *, agent_id: str, level: LogLevel, message: str, data: Any = None
    ) -> AgentLog:
        if len(message) > MAX_MESSAGE:
            raise BadUserInput(f"At most {MAX_MESSAGE} characters.", field="message")
        if data is not None and not isinstance(data, dict):
            raise BadUserInput("data must be a JSON object.", field="data")
        async with self._events.transaction() as written:
            session = written.session
            entry = AgentLog(
                agent_id=agent_id,
                level=level,
                severity=LEVEL_ORDER[level],
                message=message,
                data=data,
            )
            session.add(entry)
            await session.flush()
            await written.append(
                agent_id=agent_id,
                type=AgentEventType.LOG,
                data={"id": str(entry.id), "level": level.value, "message": message, "data": data},
            )
        return entry

    async def list(
        self,
        *,
        agent_id: str,
        level: LogLevel | None,
        since: datetime | None,
        first: int | None,
        after: str | None,
    ) -> Page[AgentLog]:
        """Newest first; `level` keeps that level and above."""
        pages = await self.list_many(
            agent_ids=[agent_id], level=level, since=since, first=first, after=after
        )
        return pages[agent_id]

    async def list_many(
        self,
        *,
        agent_ids: Sequence[str],
        level: LogLevel | None,
        since: datetime | None,
        first: int | None,
        after: str | None,
    ) -> dict[str, Page[AgentLog]]:
        """The same page of each agent's logs, in one statement (for nested lists)."""
        filters: list[ColumnElement[bool]] = []
        if level is not None:
            filters.append(col(AgentLog.severity) >= LEVEL_ORDER[level])
        if since is not None:
            if since.tzinfo is None:
                raise BadUserInput("`since` needs a timezone.", field="since")
            filters.append(col(AgentLog.timestamp) >= since)
        return await self._pager.fetch_each(
            self._sessionmaker,
            AgentLog,
            col(AgentLog.agent_id),
            agent_ids,
            filters,
            LOGS_ORDER,
            first=first,
            after=after,
        )
