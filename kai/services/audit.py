"""Reading the audit trail (ADMIN)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.errors import BadUserInput
from kai.models.audit import AuditEntry
from kai.services.pagination import Page, decode_cursor, make_page, page_size


class AuditService:
    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession]):
        self._sessionmaker = sessionmaker

    async def list(
        self,
        *,
        user_id: str | None,
        action: str | None,
        granted: bool | None,
        first: int | None,
        after: str | None,
    ) -> Page[AuditEntry]:
        size = page_size(first)
        query = select(AuditEntry).order_by(col(AuditEntry.id).desc())
        if (cursor := decode_cursor(after)) is not None:
            if not cursor.isdigit():
                raise BadUserInput("Invalid cursor.", field="after")
            query = query.where(col(AuditEntry.id) < int(cursor))
        if user_id is not None:
            query = query.where(col(AuditEntry.user_id) == user_id)
        if action is not None:
            query = query.where(col(AuditEntry.action) == action)
        if granted is not None:
            query = query.where(col(AuditEntry.granted) == granted)
        async with self._sessionmaker() as session:
            rows = (await session.scalars(query.limit(size + 1))).all()
        return make_page(rows, size, lambda row: row.id)

    async def get(self, *, entry_id: int) -> AuditEntry | None:
        async with self._sessionmaker() as session:
            return await session.get(AuditEntry, entry_id)
