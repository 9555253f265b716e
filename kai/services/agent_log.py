"""Agent logs: stored, filtered by level and time, paged by cursor; each one is also a LOG event."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.errors import BadUserInput
from kai.events.log import EventLog
from kai.models.agent_event import AgentEventType
from kai.models.agent_log import LEVEL_ORDER, AgentLog, LogLevel
from kai.services.pagination import Page, decode_cursor, make_page, page_size

MAX_MESSAGE = 10_000


class AgentLogService:
    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession], events: EventLog):
        self._sessionmaker = sessionmaker
        self._events = events

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
        size = page_size(first)
        filters: list[ColumnElement[bool]] = [col(AgentLog.agent_id).in_(agent_ids)]
        cursor = decode_cursor(after)
        if cursor is not None:
            if not cursor.isdigit() or len(cursor) > 18:
                raise BadUserInput("Invalid cursor.", field="after")
            filters.append(col(AgentLog.id) < int(cursor))
        if level is not None:
            filters.append(col(AgentLog.severity) >= LEVEL_ORDER[level])
        if since is not None:
            if since.tzinfo is None:
                raise BadUserInput("`since` needs a timezone.", field="since")
            filters.append(col(AgentLog.timestamp) >= since)
        rank = (
            func.row_number()
            .over(partition_by=col(AgentLog.agent_id), order_by=col(AgentLog.id).desc())
            .label("rank")
        )
        ranked = select(AgentLog, rank).where(*filters).subquery()
        newest = aliased(AgentLog, ranked)
        query = (
            select(newest)
            .where(ranked.c.rank <= size + 1)
            .order_by(ranked.c.agent_id, ranked.c.id.desc())
        )
        async with self._sessionmaker() as session:
            rows = (await session.scalars(query)).all()
        by_agent: dict[str, list[AgentLog]] = defaultdict(list)
        for row in rows:
            by_agent[row.agent_id].append(row)
        return {
            agent_id: make_page(by_agent[agent_id], size, lambda row: row.id)
            for agent_id in agent_ids
        }
