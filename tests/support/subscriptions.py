"""Subscriptions for tests: the documents, the app under uvicorn with a client over real
HTTP (`kai_server`), an owner with an echo agent, and the over-limit subscription
documents of W4 (G1-G3 on subscriptions)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from kai.app import create_app
from kai.events.hub import Overflow, Subscription
from kai.services.shared import Services
from tests.support.agents import COMMAND, create_echo, signed_in
from tests.support.apps import services_of
from tests.support.graphql_client import GraphQLClient
from tests.support.servers import serve_app
from tests.support.settings import make_settings

EVENTS = """
subscription Events($agentId: ID!, $after: Int) {
  agentEvents(agentId: $agentId, after: $after) { seq agentId type data timestamp }
}
"""
# The fields the multi-process tests (scale-out, recovery) follow.
EVENTS_BRIEF = """
subscription Events($agentId: ID!, $after: Int) {
  agentEvents(agentId: $agentId, after: $after) { seq type data }
}
"""
STREAM = """
subscription Stream($agentId: ID!, $prompt: String!) {
  streamPrompt(agentId: $agentId, input: {prompt: $prompt}) { streamId index delta done }
}
"""
LOGOUT = "mutation { logout }"
WAIT = 10.0


@dataclass
class Server:
    url: str
    client: GraphQLClient
    services: Services

    async def command(self, token: str, agent_id: str, name: str = "ping", **params: Any) -> Any:
        result = await self.client.execute(
            COMMAND,
            {"agentId": agent_id, "command": {"command": name, "params": params}},
            token=token,
        )
        return result.ok()["sendCommand"]


@asynccontextmanager
async def kai_server(
    database_url: str, data_dir: Path, *, ws_max_size: int = 1024 * 1024, **overrides: Any
) -> AsyncIterator[Server]:
    """The app under uvicorn on a free port, and a GraphQL client over real HTTP."""
    app = create_app(make_settings(database_url, data_dir, **overrides))
    async with (
        serve_app(app, ws_max_size=ws_max_size) as url,
        httpx.AsyncClient(base_url=url, timeout=WAIT) as http,
    ):
        yield Server(url, GraphQLClient(http), services_of(app))


async def owner_with_agent(server: Server, email: str = "owner@example.com") -> tuple[str, str]:
    """(token, agent id) of a new user's new echo agent; the agent has events 1 and 2."""
    token = await signed_in(server.client, email)
    agent = await create_echo(server.client, token)
    return token, str(agent["id"])


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [event["seq"] for event in events]


@pytest.fixture
def overflowed(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Set once the hub cuts a subscriber off for falling behind (the server is in-process)."""
    event = asyncio.Event()
    kill = Subscription.kill

    def recording_kill(self: Subscription, error: Exception) -> None:
        if isinstance(error, Overflow):
            event.set()
        kill(self, error)

    monkeypatch.setattr(Subscription, "kill", recording_kill)
    return event


def aliased(count: int, field: str = "__typename") -> str:
    return " ".join(f"a{i}: {field}" for i in range(count))


OVER_LIMIT_SUBSCRIPTIONS = {
    "depth": (
        """subscription Deep($agentId: ID!) { taskUpdates(taskId: $agentId) {
            agent { tasks { edges { node { agent { tasks { edges { node {
              agent { id }
            } } } } } } } }
        } }""",
        "11 fields deep",
    ),
    "aliases": (
        "subscription Many($agentId: ID!) { agentEvents(agentId: $agentId, after: 0) { "
        + aliased(16, "seq")
        + " } }",
        "16 aliases",
    ),
    "tokens": (
        "subscription Long($agentId: ID!) { agentEvents(agentId: $agentId, after: 0) { "
        + "seq " * 2000
        + "} }",
        "more than 2000 tokens",
    ),
}
