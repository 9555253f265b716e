"""The Python `gql` client, end to end, against kAI served by uvicorn on loopback.

Every document goes through gql's own machinery: validated client-side against the
exported graphql.schema, sent over its HTTPX transport (uploads by the GraphQL
multipart request spec) or its websockets transport (graphql-transport-ws and the
legacy graphql-ws), and refusals surface as gql's TransportQueryError.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from gql import Client, FileVar, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport
from graphql import GraphQLError, build_ast_schema, parse

from kai.app import create_app
from tests.support.graphql_client import DEFAULT_PASSWORD
from tests.support.servers import ROOT, serve_app
from tests.support.settings import make_settings
from tests.support.ws_client import LEGACY_WS, PROTOCOLS, TRANSPORT_WS, bearer, ws_url

WAIT = 10.0
# Parsed once: every Client validates its documents against the exported schema.
SCHEMA = build_ast_schema(parse((ROOT / "graphql.schema").read_text()))

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken user { id email role } }
}
"""
LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken refreshToken expiresAt user { id email } }
}
"""
ME = "query Me { me { id email } }"
SESSION = "query Session { session { id permissions } }"
CREATE = """
mutation Create($input: AgentConfigInput!) {
  createAgent(input: $input) { id name type state owner { email } }
}
"""
COMMAND = """
mutation Command($agentId: ID!, $command: AgentCommandInput!) {
  sendCommand(agentId: $agentId, command: $command) { success result error durationMs }
}
"""
RESTART = "mutation Restart($id: ID!) { restartAgent(id: $id) { id state } }"
EVENTS = """
subscription Events($agentId: ID!, $after: Int) {
  agentEvents(agentId: $agentId, after: $after) { seq agentId type data timestamp }
}
"""
STREAM = """
subscription Stream($agentId: ID!, $input: StreamPromptInput!) {
  streamPrompt(agentId: $agentId, input: $input) { streamId index delta done }
}
"""
FILE_FIELDS = """
  id originalName size mimeType checksum scanStatus url
  agent { id } uploadedBy { email }
"""
UPLOAD = f"""
mutation Upload($file: Upload!, $agentId: ID) {{
  uploadFile(file: $file, agentId: $agentId) {{ {FILE_FIELDS} }}
}}
"""
FILE = f"query File($id: ID!) {{ file(id: $id) {{ {FILE_FIELDS} }} }}"

EMAIL = "ada@example.com"
NOTES = b"Meeting notes: the gql client uploads by the multipart request spec.\n"


def request(document: str, **variables: Any) -> GraphQLRequest:
    return GraphQLRequest(document, variable_values=variables or None)


def http_client(base_url: str, token: str | None = None) -> Client:
    headers = bearer(token) if token is not None else {}
    transport = HTTPXAsyncTransport(url=f"{base_url}/graphql", headers=headers, timeout=WAIT)
    return Client(schema=SCHEMA, transport=transport, execute_timeout=WAIT)


def ws_client(base_url: str, token: str, protocol: str) -> Client:
    transport = WebsocketsTransport(
        url=ws_url(base_url),
        init_payload=bearer(token),
        subprotocols=[protocol],
        connect_timeout=WAIT,
        ack_timeout=WAIT,
        close_timeout=2,
    )
    return Client(schema=SCHEMA, transport=transport, execute_timeout=WAIT)


@dataclass
class Kai:
    """A served kAI, a signed-in owner, and a gql HTTP session carrying the owner's token."""

    url: str
    token: str
    http: AsyncClientSession

    async def execute(self, document: str, **variables: Any) -> dict[str, Any]:
        return await self.http.execute(request(document, **variables))

    async def create_echo(self, name: str = "echo-gql") -> str:
        agent = (await self.execute(CREATE, input={"name": name, "type": "echo"}))["createAgent"]
        assert agent["state"] == "RUNNING"
        return str(agent["id"])

    async def command(self, agent_id: str, name: str, **params: Any) -> dict[str, Any]:
        data = await self.execute(
            COMMAND, agentId=agent_id, command={"command": name, "params": params}
        )
        result: dict[str, Any] = data["sendCommand"]
        assert result["success"], result
        return result

    @asynccontextmanager
    async def ws(self, protocol: str) -> AsyncIterator[AsyncClientSession]:
        transport_client = ws_client(self.url, self.token, protocol)
        async with transport_client as session:
            # The server agreed to the one subprotocol offered.
            assert isinstance(transport_client.transport, WebsocketsTransport)
            assert transport_client.transport.subprotocol == protocol
            yield session


async def sign_in(base_url: str) -> str:
    """Registers over gql (anonymous), then logs in: the login's access token."""
    credentials = {"email": EMAIL, "password": DEFAULT_PASSWORD}
    async with http_client(base_url) as anonymous:
        registered = await anonymous.execute(request(REGISTER, input=credentials))
        assert registered["register"]["user"]["email"] == EMAIL
        logged_in = (await anonymous.execute(request(LOGIN, input=credentials)))["login"]
    assert logged_in["user"]["id"] == registered["register"]["user"]["id"]
    return str(logged_in["accessToken"])


@asynccontextmanager
async def signed_in(url: str) -> AsyncIterator[Kai]:
    token = await sign_in(url)
    async with http_client(url, token) as session:
        yield Kai(url, token, session)


@asynccontextmanager
async def kai(database_url: str, data_dir: Path) -> AsyncIterator[Kai]:
    """The test app under uvicorn in this event loop, with a signed-in owner."""
    app = create_app(make_settings(database_url, data_dir))
    async with serve_app(app) as url, signed_in(url) as server:
        yield server


async def take(results: AsyncGenerator[dict[str, Any], None], count: int) -> list[dict[str, Any]]:
    """The next `count` results of a subscription, within WAIT."""
    async with asyncio.timeout(WAIT):
        return [await anext(results) for _ in range(count)]


async def drain(results: AsyncGenerator[dict[str, Any], None]) -> list[dict[str, Any]]:
    """Every result of a subscription up to its completion, within WAIT."""
    async with asyncio.timeout(WAIT):
        return [result async for result in results]


async def take_events(
    results: AsyncGenerator[dict[str, Any], None], count: int
) -> list[dict[str, Any]]:
    return [result["agentEvents"] for result in await take(results, count)]


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [event["seq"] for event in events]


# --- HTTP: sign in, create, command -----------------------------------------------------


async def test_http_sign_in_create_echo_and_command(database_url: str, tmp_path: Path) -> None:
    async with kai(database_url, tmp_path) as server:
        me = (await server.execute(ME))["me"]
        agent_id = await server.create_echo()

        answer = await server.command(agent_id, "ping", n=1, words=["a", "b"])

    assert me["email"] == EMAIL
    assert answer["result"] == {"echo": "ping", "params": {"n": 1, "words": ["a", "b"]}}
    assert answer["error"] is None
    assert answer["durationMs"] >= 0


# --- WebSockets: agentEvents on both subprotocols, streamPrompt ---------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_agent_events_arrive_in_order_without_gaps(
    database_url: str, tmp_path: Path, protocol: str
) -> None:
    async with kai(database_url, tmp_path) as server:
        agent_id = await server.create_echo()
        async with (
            server.ws(protocol) as ws,
            aclosing(ws.subscribe(request(EVENTS, agentId=agent_id, after=0))) as events,
        ):
            # Seqs 1 and 2 (the agent starting) are replayed from storage; from then on
            # the subscription is live, so what the HTTP side causes next must follow.
            received = await take_events(events, 2)
            await server.command(agent_id, "first", n=1)
            await server.execute(RESTART, id=agent_id)
            await server.command(agent_id, "second", n=2)
            received += await take_events(events, 5)

    assert seqs(received) == list(range(1, 8))
    assert {event["agentId"] for event in received} == {agent_id}
    assert [event["type"] for event in received] == [
        "STATUS_UPDATE",
        "STATUS_UPDATE",
        "COMMAND_RESULT",
        "STATUS_UPDATE",
        "STATUS_UPDATE",
        "STATUS_UPDATE",
        "COMMAND_RESULT",
    ]
    assert received[2]["data"]["result"] == {"echo": "first", "params": {"n": 1}}
    assert received[6]["data"]["result"] == {"echo": "second", "params": {"n": 2}}


async def test_stream_prompt_chunks_until_completion(database_url: str, tmp_path: Path) -> None:
    prompt = "the quick brown fox"
    async with kai(database_url, tmp_path) as server:
        agent_id = await server.create_echo()
        async with server.ws(TRANSPORT_WS) as ws:
            stream = ws.subscribe(request(STREAM, agentId=agent_id, input={"prompt": prompt}))
            async with aclosing(stream) as chunks:
                results = [result["streamPrompt"] for result in await drain(chunks)]

    assert [chunk["index"] for chunk in results] == [0, 1, 2, 3, 4]
    assert [chunk["done"] for chunk in results] == [False] * 4 + [True]
    assert "".join(chunk["delta"] for chunk in results) == prompt
    assert len({chunk["streamId"] for chunk in results}) == 1


# --- Uploads: the multipart request spec, then `file` ------------------------------------


async def test_upload_file_and_read_its_metadata(database_url: str, tmp_path: Path) -> None:
    async with kai(database_url, tmp_path) as server:
        agent_id = await server.create_echo()
        upload = GraphQLRequest(
            UPLOAD,
            variable_values={
                "file": FileVar(io.BytesIO(NOTES), filename="notes.txt", content_type="text/plain"),
                "agentId": agent_id,
            },
        )
        uploaded = (await server.http.execute(upload, upload_files=True))["uploadFile"]
        read = (await server.execute(FILE, id=uploaded["id"]))["file"]

        link = urlsplit(read["url"])
        async with httpx.AsyncClient(base_url=server.url, timeout=WAIT) as http:
            download = await http.get(f"{link.path}?{link.query}")

    assert uploaded["id"] == read["id"]
    assert read["originalName"] == "notes.txt"
    assert read["size"] == len(NOTES)
    assert read["mimeType"] == "text/plain"
    assert read["checksum"] == hashlib.sha256(NOTES).hexdigest()
    assert read["scanStatus"] == "SKIPPED"
    assert read["agent"] == {"id": agent_id}
    assert read["uploadedBy"] == {"email": EMAIL}
    assert download.status_code == 200
    assert download.content == NOTES


# --- Refusals: TransportQueryError with extensions.code; client-side validation ----------


def codes(error: TransportQueryError) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in error.errors or []]


async def test_refusals_surface_as_transport_query_errors_with_codes(
    database_url: str, tmp_path: Path
) -> None:
    async with kai(database_url, tmp_path) as server:
        async with http_client(server.url, "not-a-token") as forged:
            with pytest.raises(TransportQueryError) as unauthenticated:
                await forged.execute(request(SESSION))

        with pytest.raises(TransportQueryError) as missing:
            await server.command("agt_missing", "ping")

        for protocol in PROTOCOLS:
            async with server.ws(protocol) as ws:
                with pytest.raises(TransportQueryError) as missing_live:
                    await take(ws.subscribe(request(EVENTS, agentId="agt_missing")), 1)
                assert codes(missing_live.value) == ["NOT_FOUND"], (protocol, missing_live.value)

        # The document is checked against graphql.schema before anything is sent.
        with pytest.raises(GraphQLError, match="nope"):
            await server.execute("query { agents { nope } }")

    assert codes(unauthenticated.value) == ["UNAUTHENTICATED"]
    assert codes(missing.value) == ["NOT_FOUND"]
    assert missing.value.errors and missing.value.errors[0]["path"] == ["sendCommand"]


@pytest.mark.parametrize(
    ("offered", "spoken"),
    [
        (None, LEGACY_WS),  # gql's default offer: ["graphql-ws", "graphql-transport-ws"]
        ([TRANSPORT_WS, LEGACY_WS], TRANSPORT_WS),
    ],
    ids=["gql-default", "transport-ws-first"],
)
async def test_server_speaks_the_clients_first_choice_of_subprotocol(
    database_url: str, tmp_path: Path, offered: list[str] | None, spoken: str
) -> None:
    """Offered both, the server takes the client's preferred one: with gql's defaults
    that is the legacy graphql-ws, which gql then speaks correctly."""
    async with kai(database_url, tmp_path) as server:
        agent_id = await server.create_echo()
        transport = WebsocketsTransport(
            url=ws_url(server.url), init_payload=bearer(server.token), subprotocols=offered
        )
        async with (
            Client(schema=SCHEMA, transport=transport, execute_timeout=WAIT) as ws,
            aclosing(ws.subscribe(request(EVENTS, agentId=agent_id, after=1))) as events,
        ):
            assert transport.subprotocol == spoken
            first = await take_events(events, 1)
            await server.command(agent_id, "live")
            first += await take_events(events, 1)

    assert seqs(first) == [2, 3]
    assert first[1]["data"]["command"] == "live"
