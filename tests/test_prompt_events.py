"""Q1: what a prompt leaves in the event log is bounded: its deltas joined, at most one
event per KB (and per second) of the answer, however many deltas it streamed."""

from __future__ import annotations

from typing import Any

import pytest

from kai.models.agent_event import AgentEventType
from kai.services import prompt_events
from tests.support.agents import create_echo, signed_in
from tests.support.apps import services_of
from tests.support.graphql_client import GraphQLClient


async def test_Q1_a_100_kb_prompt_stores_about_a_hundred_events_not_fifty_thousand(
    client: GraphQLClient, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Counted by size alone: the time rule would only add events on a slow machine.
    monkeypatch.setattr(prompt_events, "STORED_CHUNK_SECONDS", float("inf"))
    token = await signed_in(client)
    agent = await create_echo(client, token)
    services = services_of(app)
    row = await services.agents.get(agent_id=agent["id"])
    assert row is not None
    prompt = "word " * 20_000  # 100 KB: the echo agent streams it one word at a time
    before = len(await services.events.after(agent_id=row.id, after=0, limit=1_000_000))

    chunks = [c async for c in services.commands.prompt(agent=row, prompt=prompt, options=None)]

    events = (await services.events.after(agent_id=row.id, after=0, limit=1_000_000))[before:]
    stored = [e.data for e in events if e.type is AgentEventType.STREAM_CHUNK]
    assert len(chunks) == 20_001  # every word reached the client, then the done chunk
    assert len(stored) <= len(prompt) // prompt_events.STORED_CHUNK_CHARS + 2
    assert "".join(d["delta"] for d in stored) == prompt.strip()
    assert [d["index"] for d in stored] == sorted(d["index"] for d in stored)
    assert stored[-1]["done"] is True


async def test_Q1_a_slow_answer_is_stored_as_it_comes(
    client: GraphQLClient, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every delta past the time rule is stored at once: followers see a slow answer grow.
    monkeypatch.setattr(prompt_events, "STORED_CHUNK_SECONDS", 0.0)
    token = await signed_in(client)
    agent = await create_echo(client, token)
    services = services_of(app)
    row = await services.agents.get(agent_id=agent["id"])
    assert row is not None

    chunks = [c async for c in services.commands.prompt(agent=row, prompt="a b c", options=None)]

    events = await services.events.after(agent_id=row.id, after=0)
    stored = [e.data for e in events if e.type is AgentEventType.STREAM_CHUNK]
    assert [(d["index"], d["delta"], d["done"]) for d in stored] == [
        (0, "a ", False),
        (1, "b ", False),
        (2, "c", False),
        (3, "", True),
    ]
    assert len(chunks) == 4
