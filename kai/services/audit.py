"""Reading the audit trail (ADMIN)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.errors import BadUserInput
from kai.models.audit import AuditEntry
from kai.services.pagination import Page, decode_cursor, make_page, page_size

# Entry ids are BIGINT: a larger number names no row, and must not reach the database.
MAX_ENTRY_ID = 2**63 - 1


def entry_number(text: str) -> int | None:
    """The row id that an audit id (after `aud_`) or a cursor names; None if it names none."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ENTRY_ID)):
        return None
    number = int(text)
    # One spelling per id: `aud_007` is not `aud_7`.
    return number if str(number) == text and number <= MAX_ENTRY_ID else None


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
            if (number := entry_number(cursor)) is None:
                raise BadUserInput("Invalid cursor.", field="after")
            query = query.where(col(AuditEntry.id) < number)
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
