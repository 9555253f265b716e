"""What webhooks cost in SQL statements, counted: the event log's outbox writes nothing for
an owner without webhooks, one INSERT for one with; a page of deliveries reads its webhook
once, not once per delivery; the outbox's statements are cached, not compiled each time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from kai.models.agent_event import AgentEventType
from kai.models.base import JsonArrayHas, NewId
from kai.models.webhook import Webhook
from tests.support.agents import create_echo, signed_in
from tests.support.apps import client_at, running_app, services_of
from tests.support.graphql_client import GraphQLClient
from tests.support.settings import QUIET_HOUSEKEEPING, make_settings
from tests.support.statements import counting_statements

CREATE = """
mutation C($url: String!) { createWebhook(input: {url: $url}) { webhook { id } } }
"""
DELIVERIES = """
query D($id: ID!, $first: Int) {
  webhook(id: $id) { deliveries(first: $first) { edges { node { id webhook { id url } } } } }
}
"""
REPLAY = """
mutation P($id: ID!, $agentId: ID!) { replayWebhook(id: $id, agentId: $agentId, after: 0) }
"""


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    # Nothing in the background sends statements (or deliveries) while the test counts.
    settings = make_settings(database_url, tmp_path / "data", **QUIET_HOUSEKEEPING)
    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[GraphQLClient]:
    async with client_at(app) as graphql:
        yield graphql


def outbox_inserts(statements: list[str]) -> int:
    return sum(
        1 for s in statements if s.lstrip().upper().startswith("INSERT INTO WEBHOOK_DELIVERY")
    )


async def test_the_outbox_writes_only_for_owners_with_webhooks(
    app: Any, client: GraphQLClient
) -> None:
    services = services_of(app)
    token = await signed_in(client)
    agent = await create_echo(client, token)
    with counting_statements(app) as without:
        await services.events.record(agent_id=agent["id"], type=AgentEventType.LOG, data={})
    assert outbox_inserts(without) == 0
    await client.execute(CREATE, {"url": "http://127.0.0.1:9/hook"}, token=token)
    with counting_statements(app) as with_one:
        await services.events.record(agent_id=agent["id"], type=AgentEventType.LOG, data={})
    assert outbox_inserts(with_one) == 1
    assert len(with_one) == len(without) + 1  # the INSERT, and nothing else


async def test_a_page_of_deliveries_reads_its_webhook_once(app: Any, client: GraphQLClient) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    services = services_of(app)
    for n in range(12):
        await services.events.record(agent_id=agent["id"], type=AgentEventType.LOG, data={"n": n})
    made = (await client.execute(CREATE, {"url": "http://127.0.0.1:9/hook"}, token=token)).ok()
    webhook_id = made["createWebhook"]["webhook"]["id"]
    await client.execute(REPLAY, {"id": webhook_id, "agentId": agent["id"]}, token=token)
    counts = []
    for size in (2, 12):
        await client.execute("{ me { id } }", token=token)  # the token's own checks, first
        with counting_statements(app) as statements:
            page = (
                await client.execute(DELIVERIES, {"id": webhook_id, "first": size}, token=token)
            ).ok()
        edges = page["webhook"]["deliveries"]["edges"]
        assert len(edges) == size and {e["node"]["webhook"]["id"] for e in edges} == {webhook_id}
        counts.append(sum(1 for s in statements if s.lstrip().upper().startswith("SELECT")))
    assert counts[0] == counts[1], counts


def test_the_outbox_statement_has_a_cache_key() -> None:
    """Without one, SQLAlchemy compiled the statement again at every event."""
    kinds = select(JsonArrayHas(col(Webhook.event_types), "LOG"))._generate_cache_key()
    agents = select(JsonArrayHas(col(Webhook.agent_ids), "LOG"))._generate_cache_key()
    other_value = select(JsonArrayHas(col(Webhook.event_types), "ERROR"))._generate_cache_key()
    assert kinds is not None and agents is not None and other_value is not None
    assert kinds.key != agents.key  # another column is another statement
    assert kinds.key == other_value.key  # another value is a bound parameter
    assert select(NewId("whd"))._generate_cache_key() is not None
