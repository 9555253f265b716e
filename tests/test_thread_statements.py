"""What a message costs in SQL statements, counted: the same for a thread of two messages
as for one of a hundred (its history is read in one statement, whatever the length up to a
batch), and a page of messages reads no thread per message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.agents import create_echo, signed_in
from tests.support.apps import client_at, running_app
from tests.support.graphql_client import GraphQLClient
from tests.support.settings import QUIET_HOUSEKEEPING, make_settings
from tests.support.statements import counting_statements
from tests.test_threads import create_thread, post

PAGE = """
query M($id: ID!, $last: Int) {
  thread(id: $id) { messages(last: $last) { edges { node { id thread { id title } } } } }
}
"""


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    settings = make_settings(database_url, tmp_path / "data", **QUIET_HOUSEKEEPING)
    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[GraphQLClient]:
    async with client_at(app) as graphql:
        yield graphql


async def test_a_message_costs_the_same_on_a_long_thread(app: Any, client: GraphQLClient) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    short = await create_thread(client, token, agent["id"])
    long = await create_thread(client, token, agent["id"])
    (await post(client, token, short, "one")).ok()
    for n in range(50):
        (await post(client, token, long, f"message {n}")).ok()

    with counting_statements(app) as on_short:
        (await post(client, token, short, "a question")).ok()
    with counting_statements(app) as on_long:
        (await post(client, token, long, "a question")).ok()

    assert len(on_long) == len(on_short)
    history_reads = [s for s in on_long if "FROM message" in s and "ORDER BY" in s]
    assert len(history_reads) == 1


async def test_a_page_of_messages_reads_its_thread_once(app: Any, client: GraphQLClient) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    thread_id = await create_thread(client, token, agent["id"])
    for n in range(5):
        (await post(client, token, thread_id, f"message {n}")).ok()

    with counting_statements(app) as two:
        await client.execute(PAGE, {"id": thread_id, "last": 2}, token=token)
    with counting_statements(app) as ten:
        await client.execute(PAGE, {"id": thread_id, "last": 10}, token=token)

    assert len(ten) == len(two)
