"""Reading the audit trail (ADMIN)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.models.audit import AuditEntry
from kai.services.pagination import Order, Page, Pager

# Entry ids are BIGINT: a larger number names no row, and must not reach the database.
MAX_ENTRY_ID = 2**63 - 1


def entry_number(text: str) -> int | None:
    """The row id that an audit id (after `aud_`) names; None if it names none."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ENTRY_ID)):
        return None
    number = int(text)
    # One spelling per id: `aud_007` is not `aud_7`.
    return number if str(number) == text and number <= MAX_ENTRY_ID else None


# Newest first: ids grow as checks are recorded.
AUDIT_ORDER = Order(scope="auditLog/ID/DESC", id=col(AuditEntry.id), id_kind="int", descending=True)


class AuditService:
    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession], pager: Pager):
        self._sessionmaker = sessionmaker
        self._pager = pager

    async def list(
        self,
        *,
        user_id: str | None,
        action: str | None,
        granted: bool | None,
        first: int | None,
        after: str | None,
    ) -> Page[AuditEntry]:
        filters: list[ColumnElement[bool]] = []
        if user_id is not None:
            filters.append(col(AuditEntry.user_id) == user_id)
        if action is not None:
            filters.append(col(AuditEntry.action) == action)
        if granted is not None:
            filters.append(col(AuditEntry.granted) == granted)
        return await self._pager.fetch(
            self._sessionmaker, AuditEntry, filters, AUDIT_ORDER, first=first, after=after
        )

    async def get(self, *, entry_id: int) -> AuditEntry | None:
        async with self._sessionmaker() as session:
            return await session.get(AuditEntry, entry_id)
