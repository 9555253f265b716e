"""Reading files: one, a page of the caller's, each agent's; and who may see one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.models.file import StoredFile
from kai.security.principal import Principal
from kai.services.pagination import Kind, Page, Pager, Sorting, few, fragment, ordering

# How `files` sorts: by each field of FileOrderField, then by id.
FILE_ORDER_KEYS: dict[str, tuple[Any, Kind]] = {
    "UPLOADED_AT": (col(StoredFile.uploaded_at), "datetime"),
    "NAME": (func.lower(col(StoredFile.original_name)), "str"),
    "SIZE": (col(StoredFile.size), "int"),
}


@dataclass(frozen=True, slots=True)
class FileFilter:
    """What `files(filter:)` keeps; None keeps all, an empty list none."""

    agent_id: str | None = None
    mime_types: Sequence[str] | None = None
    name_contains: str | None = None
    uploaded_after: datetime | None = None
    uploaded_before: datetime | None = None


def visible_to(principal: Principal, row: StoredFile) -> bool:
    """Its owner and ADMIN see a file; an API key limited to some agents, only the
    files of those agents."""
    if not principal.may_act_on(row.owner_id):
        return False
    if principal.agent_ids is None:
        return True
    return row.agent_id is not None and principal.may_use_agent(row.agent_id)


class FileQueries:
    """The read side of FileService, which provides the session maker and the pager."""

    _sessionmaker: async_sessionmaker[AsyncSession]
    _pager: Pager

    async def get(self, *, file_id: str) -> StoredFile | None:
        async with self._sessionmaker() as session:
            return await session.get(StoredFile, file_id)

    async def page(
        self,
        *,
        principal: Principal,
        filter: FileFilter,
        sorting: Sorting,
        first: int | None,
        after: str | None,
    ) -> Page[StoredFile]:
        """The caller's files (ADMIN: everyone's); an API key limited to some agents sees
        only those agents' files."""
        filters: list[ColumnElement[bool]] = []
        if not principal.is_admin:
            filters.append(col(StoredFile.owner_id) == principal.user_id)
        if principal.agent_ids is not None:
            filters.append(col(StoredFile.agent_id).in_(sorted(principal.agent_ids)))
        if filter.agent_id is not None:
            filters.append(col(StoredFile.agent_id) == filter.agent_id)
        if (types := few(filter.mime_types, field="filter.mimeTypes")) is not None:
            filters.append(col(StoredFile.mime_type).in_(types))
        if (name := fragment(filter.name_contains, field="filter.nameContains")) is not None:
            filters.append(col(StoredFile.original_name).icontains(name, autoescape=True))
        if filter.uploaded_after is not None:
            filters.append(col(StoredFile.uploaded_at) > filter.uploaded_after)
        if filter.uploaded_before is not None:
            filters.append(col(StoredFile.uploaded_at) < filter.uploaded_before)
        order = ordering("files", FILE_ORDER_KEYS, col(StoredFile.id), sorting)
        return await self._pager.fetch(
            self._sessionmaker, StoredFile, filters, order, first=first, after=after
        )

    async def by_agents(self, agent_ids: Sequence[str]) -> dict[str, list[StoredFile]]:
        """Every file of each agent, newest first: one statement for a whole list of agents."""
        async with self._sessionmaker() as session:
            rows = await session.scalars(
                select(StoredFile)
                .where(col(StoredFile.agent_id).in_(agent_ids))
                .order_by(col(StoredFile.uploaded_at).desc(), col(StoredFile.id).desc())
            )
            found: dict[str, list[StoredFile]] = {agent_id: [] for agent_id in agent_ids}
            for row in rows:
                assert row.agent_id is not None
                found[row.agent_id].append(row)
            return found
