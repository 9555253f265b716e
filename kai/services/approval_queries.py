"""Reading approvals: one, a page of those the caller may see, those gating given commands
or tasks (loaders), and the PENDING ones made lately (the live feed's catch-up)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.models.agent import Agent
from kai.models.approval import Approval, ApprovalKind, ApprovalState
from kai.security.principal import Principal
from kai.services.pagination import Page, Pager, Sorting, few, ordering

# Newest first.
APPROVAL_ORDER = ordering(
    "approvals", {"CREATED_AT": (col(Approval.created_at), "datetime")}, col(Approval.id), Sorting()
)
CATCH_UP_LIMIT = 500


@dataclass(frozen=True, slots=True)
class ApprovalFilter:
    """What `approvals(filter:)` keeps; None keeps all, an empty list none."""

    agent_id: str | None = None
    states: Sequence[ApprovalState] | None = None
    kinds: Sequence[ApprovalKind] | None = None


def visible_to(principal: Principal) -> list[ColumnElement[bool]]:
    """The approvals of the agents the caller acts on: their own (ADMIN: every one), and
    of those only the agents an API key is limited to."""
    filters: list[ColumnElement[bool]] = []
    if not principal.is_admin:
        owned = select(col(Agent.id)).where(col(Agent.owner_id) == principal.user_id)
        filters.append(col(Approval.agent_id).in_(owned))
    if principal.agent_ids is not None:
        filters.append(col(Approval.agent_id).in_(sorted(principal.agent_ids)))
    return filters


class ApprovalQueries:
    """The read side of ApprovalService, which provides the session maker and the pager."""

    _sessionmaker: async_sessionmaker[AsyncSession]
    _pager: Pager

    async def get(self, *, approval_id: str) -> Approval | None:
        async with self._sessionmaker() as session:
            return await session.get(Approval, approval_id, populate_existing=True)

    async def page(
        self,
        *,
        principal: Principal,
        filter: ApprovalFilter,
        first: int | None,
        after: str | None,
    ) -> Page[Approval]:
        """Those the caller may see, newest first."""
        filters = visible_to(principal)
        if filter.agent_id is not None:
            filters.append(col(Approval.agent_id) == filter.agent_id)
        if (states := few(filter.states, field="filter.states")) is not None:
            filters.append(col(Approval.state).in_(states))
        if (kinds := few(filter.kinds, field="filter.kinds")) is not None:
            filters.append(col(Approval.kind).in_(kinds))
        return await self._pager.fetch(
            self._sessionmaker, Approval, filters, APPROVAL_ORDER, first=first, after=after
        )

    async def pending_since(self, *, principal: Principal, since: datetime) -> list[Approval]:
        """PENDING approvals the caller may see, made at or after `since`, oldest first."""
        async with self._sessionmaker() as session:
            rows = await session.scalars(
                select(Approval)
                .where(
                    *visible_to(principal),
                    col(Approval.state) == ApprovalState.PENDING,
                    col(Approval.created_at) >= since,
                )
                .order_by(col(Approval.created_at), col(Approval.id))
                .limit(CATCH_UP_LIMIT)
            )
            return list(rows)

    async def gating(
        self, *, command_ids: Sequence[str] = (), task_ids: Sequence[str] = ()
    ) -> list[Approval]:
        """The approvals of these commands and tasks (each has one at most)."""
        async with self._sessionmaker() as session:
            rows = await session.scalars(
                select(Approval).where(
                    col(Approval.command_id).in_(list(command_ids))
                    | col(Approval.task_id).in_(list(task_ids))
                )
            )
            return list(rows)
