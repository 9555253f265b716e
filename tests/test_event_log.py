"""The event log's retention: by age and by count per agent, never touching the seq counter."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import update
from sqlmodel import col

from kai.models.agent_event import AgentEvent, AgentEventType
from kai.models.base import utcnow
from tests.support.agents import create_echo
from tests.support.apps import client_at, running_app, services_of
from tests.support.settings import make_settings

NOTE = AgentEventType.LOG


async def test_prune_keeps_the_newest_events_of_each_agent(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, event_retention_count=3)
    async with running_app(settings) as app, client_at(app) as client:
        token = (await client.register("a@example.com"))["accessToken"]
        first = await create_echo(client, token, name="first")
        second = await create_echo(client, token, name="second")
        events = services_of(app).events
        for agent in (first, second):
            for n in range(5):
                await events.record(agent_id=agent["id"], type=NOTE, data={"n": n})

        pruned = await events.prune()

        # Each agent had 2 status events and 5 notes: 7, of which the newest 3 stay.
        assert pruned == 8
        for agent in (first, second):
            kept = await events.after(agent_id=agent["id"], after=0)
            assert [e.seq for e in kept] == [5, 6, 7]
        # Numbering goes on from where it was, with no reuse.
        nxt = await events.record(agent_id=first["id"], type=NOTE, data={})
        assert nxt.seq == 8


async def test_prune_drops_events_older_than_the_age_limit(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, event_retention_seconds=3600)
    async with running_app(settings) as app, client_at(app) as client:
        token = (await client.register("a@example.com"))["accessToken"]
        agent = await create_echo(client, token)
        services = services_of(app)
        old = await services.events.record(agent_id=agent["id"], type=NOTE, data={"old": True})
        fresh = await services.events.record(agent_id=agent["id"], type=NOTE, data={})
        async with services.sessionmaker() as session, session.begin():
            await session.execute(
                update(AgentEvent)
                .where(col(AgentEvent.agent_id) == agent["id"], col(AgentEvent.seq) <= old.seq)
                .values(timestamp=utcnow() - timedelta(hours=2))
            )

        pruned = await services.events.prune()

        assert pruned == old.seq
        kept = await services.events.after(agent_id=agent["id"], after=0)
        assert [e.seq for e in kept] == [fresh.seq]
