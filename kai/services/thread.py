"""Threads: conversations with an agent, kept. This module keeps them (create, read, list,
delete, page through their messages); kai.services.conversation answers on them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from kai.db import transaction
from kai.errors import BadUserInput, QuotaExceeded
from kai.models.agent import Agent
from kai.models.agent_event import AgentEvent, AgentEventType
from kai.models.thread import Message, Thread
from kai.security.principal import Principal
from kai.services.pagination import Kind, Order, Page, Pager, Sorting, ordering
from kai.services.validation import bounded_json, bounded_text

# How `threads` sorts: by each field of ThreadOrderField, then by id. UPDATED_AT moves a
# thread to the front each time it gets a message (kai.services.thread_messages).
THREAD_ORDER_KEYS: dict[str, tuple[Any, Kind]] = {
    "CREATED_AT": (col(Thread.created_at), "datetime"),
    "UPDATED_AT": (col(Thread.updated_at), "datetime"),
}
# Oldest first; `last`/`before` read the same order from its far end.
MESSAGE_ORDER = Order(
    scope="messages/SEQ/ASC", id=col(Message.seq), id_kind="int", descending=False
)
MESSAGE_ORDER_BACKWARDS = Order(
    scope="messages/SEQ/ASC", id=col(Message.seq), id_kind="int", descending=True
)
MAX_METADATA_BYTES = 16 * 1024


class ThreadService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        pager: Pager,
        per_user: int,
    ):
        self._sessionmaker = sessionmaker
        self._pager = pager
        self._per_user = per_user

    async def create(
        self, *, agent: Agent, owner_id: str, title: str | None, metadata: Any
    ) -> Thread:
        """BAD_USER_INPUT for a title or metadata too large, QUOTA_EXCEEDED past the
        owner's cap (KAI_QUOTA_THREADS_PER_USER)."""
        thread = Thread(
            agent_id=agent.id,
            owner_id=owner_id,
            title=bounded_text(title, field="input.title", max_length=200),
            metadata_=_metadata(metadata),
        )
        async with transaction(self._sessionmaker) as session:
            mine = await session.scalar(
                select(func.count()).where(col(Thread.owner_id) == owner_id)
            )
            if (mine or 0) >= self._per_user:
                raise QuotaExceeded("threads", quota="threads", limit=self._per_user)
            session.add(thread)
        return thread

    async def get(self, *, thread_id: str) -> Thread | None:
        async with self._sessionmaker() as session:
            return await session.get(Thread, thread_id, populate_existing=True)

    async def get_message(self, *, message_id: str) -> Message | None:
        async with self._sessionmaker() as session:
            return await session.get(Message, message_id)

    async def delete(self, *, thread_id: str) -> bool:
        """Gone with its messages, and their MESSAGE events with them: a deleted thread's
        words do not linger in the agent's event log until retention prunes them."""
        async with transaction(self._sessionmaker) as session:
            thread = await session.get(Thread, thread_id)
            if thread is None:
                return False
            await _forget_events(session, thread)
            await session.execute(delete(Message).where(col(Message.thread_id) == thread_id))
            await session.delete(thread)
        return True

    async def page(
        self,
        *,
        principal: Principal,
        agent_id: str | None,
        sorting: Sorting,
        first: int | None,
        after: str | None,
    ) -> Page[Thread]:
        """The caller's threads (ADMIN: every one; an API key limited to some agents:
        those agents' only), in `sorting`'s order (by when started, or by latest message)."""
        filters: list[ColumnElement[bool]] = []
        if not principal.is_admin:
            filters.append(col(Thread.owner_id) == principal.user_id)
        if principal.agent_ids is not None:
            filters.append(col(Thread.agent_id).in_(sorted(principal.agent_ids)))
        if agent_id is not None:
            filters.append(col(Thread.agent_id) == agent_id)
        order = ordering("threads", THREAD_ORDER_KEYS, col(Thread.id), sorting)
        return await self._pager.fetch(
            self._sessionmaker, Thread, filters, order, first=first, after=after
        )

    async def messages(
        self,
        *,
        thread_id: str,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
    ) -> Page[Message]:
        """Oldest first. `first`/`after` page forwards from the oldest; `last`/`before`
        backwards from the newest (the page itself still oldest first)."""
        if (first is not None or after is not None) and (last is not None or before is not None):
            raise BadUserInput(
                "Page forwards (first, after) or backwards (last, before), not both.",
                field="last",
            )
        filters = [col(Message.thread_id) == thread_id]
        if last is None and before is None:
            return await self._pager.fetch(
                self._sessionmaker, Message, filters, MESSAGE_ORDER, first=first, after=after
            )
        return await self._backwards(filters, last, before)

    async def _backwards(
        self, filters: Sequence[ColumnElement[bool]], last: int | None, before: str | None
    ) -> Page[Message]:
        """The page newest first from `before`, turned round: oldest first, and what is
        left before it says `has_previous_page`."""
        newest_first = await self._pager.fetch(
            self._sessionmaker,
            Message,
            filters,
            MESSAGE_ORDER_BACKWARDS,
            first=last,
            after=before,
            fields=("last", "before"),
        )
        return Page(
            list(reversed(newest_first.items)),
            list(reversed(newest_first.cursors)),
            has_next_page=False,
            has_previous_page=newest_first.has_next_page,
            count=newest_first.count,
        )


def _metadata(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadUserInput("metadata must be a JSON object.", field="input.metadata")
    return bounded_json(value, field="input.metadata", max_bytes=MAX_METADATA_BYTES)


async def _forget_events(session: AsyncSession, thread: Thread) -> None:
    """Deletes the agent events that hold the thread's words: its MESSAGE events, and its
    streamed answers' STREAM_CHUNK events (marked with the thread's id, among the agent's
    others, which stay)."""
    of_agent = col(AgentEvent.agent_id) == thread.agent_id
    span = (
        await session.execute(
            select(func.min(Message.seq), func.max(Message.seq)).where(
                col(Message.thread_id) == thread.id
            )
        )
    ).one()
    if span[0] is None:
        return
    messages = select(col(Message.seq)).where(col(Message.thread_id) == thread.id)
    await session.execute(delete(AgentEvent).where(of_agent, col(AgentEvent.seq).in_(messages)))
    chunks = await session.execute(
        select(col(AgentEvent.seq), col(AgentEvent.data)).where(
            of_agent,
            col(AgentEvent.type) == AgentEventType.STREAM_CHUNK,
            col(AgentEvent.seq).between(span[0], span[1]),
        )
    )
    mine = [seq for seq, data in chunks if data.get("threadId") == thread.id]
    for start in range(0, len(mine), 500):  # bound parameters per statement
        batch = mine[start : start + 500]
        await session.execute(delete(AgentEvent).where(of_agent, col(AgentEvent.seq).in_(batch)))
