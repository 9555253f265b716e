"""The agent event log: stored with a gap-free per-agent `seq`, then published after commit."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from kai.db import changed_rows, transaction
from kai.events.hub import EventHub, Interrupted
from kai.events.webhook_outbox import queue_deliveries
from kai.lru import LRU
from kai.models.agent import Agent
from kai.models.agent_event import AgentEvent, AgentEventType
from kai.models.base import utcnow
from kai.models.webhook import Webhook

REPLAY_BATCH = 500


def agent_channel(agent_id: str) -> str:
    return f"agent:{agent_id}"


def event_message(event: AgentEvent) -> dict[str, Any]:
    return {
        "kind": "event",
        "agent_id": event.agent_id,
        "seq": event.seq,
        "type": event.type.value,
        "data": event.data,
        "timestamp": event.timestamp.isoformat(),
    }


# Live events decoded lately, by (agent, seq): every follower of an agent in this process
# receives the same message, and one decoding serves them all (made per follower, it was a
# tenth of the server's time at 5,000 subscribers, bench/fanout.py). An agent's seq is given
# out once and published only after its commit, so a key never stands for two events.
DECODED_EVENTS = 1024
_decoded: LRU[tuple[str, int], AgentEvent] = LRU(DECODED_EVENTS)


def event_from_message(message: dict[str, Any]) -> AgentEvent:
    """The stored event a live message announces; the same object for each follower, which
    none of them changes."""
    key = (message["agent_id"], message["seq"])
    event = _decoded.get(key)
    if event is None:
        event = AgentEvent(
            agent_id=message["agent_id"],
            seq=message["seq"],
            type=AgentEventType(message["type"]),
            data=message["data"],
            timestamp=datetime.fromisoformat(message["timestamp"]),
        )
        _decoded.add(key, event)
    return event


async def append_event(
    session: AsyncSession, *, agent_id: str, type: AgentEventType, data: dict[str, Any]
) -> AgentEvent:
    """Add an event inside the caller's transaction; publish it after the commit.

    The increment locks the agent row until commit, so concurrent writers take
    turns and numbers are consecutive; a rollback takes its number back with it.
    """
    # Whether the owner has an active webhook comes with the number, in the same statement:
    # an event whose owner has none (the usual case) costs no outbox statement at all.
    hooked = (
        select(col(Webhook.id))
        .where(col(Webhook.owner_id) == col(Agent.owner_id), col(Webhook.active).is_(True))
        .exists()
    )
    seq, owner_id, has_webhooks = (
        await session.execute(
            update(Agent)
            .where(col(Agent.id) == agent_id)
            .values(last_event_seq=col(Agent.last_event_seq) + 1)
            .returning(col(Agent.last_event_seq), col(Agent.owner_id), hooked)
        )
    ).one()
    event = AgentEvent(agent_id=agent_id, seq=seq, type=type, data=data, timestamp=utcnow())
    session.add(event)
    if has_webhooks:
        # The owner's webhooks that want it get their delivery in this same transaction.
        await queue_deliveries(session, event, owner_id)
    return event


class EventTransaction:
    """A transaction's session, and the events appended in it (kai.events.log.transaction)."""

    def __init__(self, session: AsyncSession):
        self.session = session
        self.events: list[AgentEvent] = []
        self.notices: list[tuple[str, dict[str, Any]]] = []

    def notify(self, channel: str, message: dict[str, Any]) -> None:
        """Publish `message` on `channel` once the transaction has committed, after its
        events; never if it rolls back."""
        self.notices.append((channel, message))

    async def append(
        self, *, agent_id: str, type: AgentEventType, data: dict[str, Any]
    ) -> AgentEvent:
        event = await append_event(self.session, agent_id=agent_id, type=type, data=data)
        self.events.append(event)
        return event


class EventLog:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        hub: EventHub,
        max_age_seconds: float,
        max_per_agent: int,
    ):
        self._sessionmaker = sessionmaker
        self._hub = hub
        self._max_age = timedelta(seconds=max_age_seconds)
        self._max_per_agent = max_per_agent

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[EventTransaction]:
        """A transaction whose appended events are published once it has committed: never
        before (a subscriber must not hear of a change that a rollback then undoes), and
        not at all when it rolls back."""
        async with transaction(self._sessionmaker) as session:
            written = EventTransaction(session)
            yield written
        await self.publish(written.events)
        for channel, message in written.notices:
            await self._hub.publish(channel, message)

    async def record(
        self, *, agent_id: str, type: AgentEventType, data: dict[str, Any]
    ) -> AgentEvent:
        async with self.transaction() as written:
            return await written.append(agent_id=agent_id, type=type, data=data)

    async def publish(self, events: Sequence[AgentEvent]) -> None:
        for event in events:
            await self._hub.publish(agent_channel(event.agent_id), event_message(event))

    async def after(
        self, *, agent_id: str, after: int, limit: int = REPLAY_BATCH
    ) -> list[AgentEvent]:
        async with self._sessionmaker() as session:
            rows = await session.scalars(
                select(AgentEvent)
                .where(col(AgentEvent.agent_id) == agent_id, col(AgentEvent.seq) > after)
                .order_by(col(AgentEvent.seq))
                .limit(limit)
            )
            return list(rows)

    async def last_seq(self, *, agent_id: str) -> int:
        async with self._sessionmaker() as session:
            seq = await session.scalar(
                select(col(Agent.last_event_seq)).where(col(Agent.id) == agent_id)
            )
        return int(seq or 0)

    async def follow(self, *, agent_id: str, after: int | None) -> AsyncGenerator[AgentEvent, None]:
        """Stored events with seq > `after`, then live ones: no gap, no duplicate.

        Subscribes before reading storage, so nothing committed in between is
        missed; live messages at or below what was sent are dropped; a jump in
        seq, or a broken live stream, is filled from storage.
        """
        async with self._hub.subscribe(agent_channel(agent_id)) as live:
            sent = await self.last_seq(agent_id=agent_id) if after is None else after
            async with aclosing(self._catch_up(agent_id, sent)) as stored:
                async for event in stored:
                    sent = event.seq
                    yield event
            while True:
                try:
                    message = await live.get()
                except Interrupted:
                    message = None
                if message is not None and message.get("kind") == "deleted":
                    return
                if message is not None and message.get("seq", 0) <= sent:
                    continue
                if message is not None and message["seq"] == sent + 1:
                    sent += 1
                    yield event_from_message(message)
                    continue
                async with aclosing(self._catch_up(agent_id, sent)) as stored:
                    async for event in stored:
                        sent = event.seq
                        yield event

    async def _catch_up(self, agent_id: str, after: int) -> AsyncGenerator[AgentEvent, None]:
        while True:
            batch = await self.after(agent_id=agent_id, after=after)
            for event in batch:
                after = event.seq
                yield event
            if len(batch) < REPLAY_BATCH:
                return

    async def announce_deleted(self, *, agent_id: str) -> None:
        """Ends every follower of a deleted agent's events."""
        await self._hub.publish(agent_channel(agent_id), {"kind": "deleted", "agent_id": agent_id})

    async def prune(self) -> int:
        """Drops events older than the age limit, and beyond the newest N of each agent."""
        cutoff = utcnow() - self._max_age
        newest = (
            select(col(Agent.last_event_seq))
            .where(col(Agent.id) == col(AgentEvent.agent_id))
            .scalar_subquery()
        )
        async with transaction(self._sessionmaker) as session:
            by_age = await changed_rows(
                session, delete(AgentEvent).where(col(AgentEvent.timestamp) < cutoff)
            )
            by_count = await changed_rows(
                session,
                delete(AgentEvent).where(col(AgentEvent.seq) <= newest - self._max_per_agent),
            )
        return by_age + by_count
