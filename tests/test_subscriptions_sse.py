"""Subscriptions over Server-Sent Events (graphql-sse, distinct connections mode) on a real
server: the same events, auth, limits and `after` as over WebSockets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from kai.app import create_app
from kai.graphql.sse_negotiation import prefers_event_stream
from tests.support.agents import create_echo, signed_in
from tests.support.fake_openai import SilentLLM, silent_llm
from tests.support.graphql_client import GraphQLClient
from tests.support.servers import serve_app
from tests.support.settings import make_settings
from tests.support.sse_client import SSEStream, StreamEnded, codes, sse_subscribe
from tests.support.subscriptions import (
    EVENTS,
    LOGOUT,
    OVER_LIMIT_SUBSCRIPTIONS,
    STREAM,
    kai_server,
    overflowed,
    owner_with_agent,
    seqs,
)
from tests.support.ws_client import ws_connect

__all__ = ["overflowed", "silent_llm"]  # fixtures used here


async def test_agent_events_arrive_live_in_seq_order_over_sse(
    database_url: str, tmp_path: Path
) -> None:
    async with kai_server(database_url, tmp_path) as server:
        token, agent_id = await owner_with_agent(server)
        async with sse_subscribe(
            server.client.http, EVENTS, {"agentId": agent_id, "after": 0}, token=token
        ) as stream:
            assert seqs(await stream.results(2, "agentEvents")) == [1, 2]  # replayed

            await server.command(token, agent_id, "first")
            await server.command(token, agent_id, "second")
            events = await stream.results(2, "agentEvents")

    assert seqs(events) == [3, 4]
    assert [e["data"]["result"]["echo"] for e in events] == ["first", "second"]


async def test_a_dropped_sse_stream_resumes_with_after_with_nothing_missing(
    database_url: str, tmp_path: Path
) -> None:
    async with kai_server(database_url, tmp_path) as server:
        token, agent_id = await owner_with_agent(server)
        variables = {"agentId": agent_id, "after": 2}
        async with sse_subscribe(server.client.http, EVENTS, variables, token=token) as stream:
            await server.command(token, agent_id, "seen")
            seen = await stream.results(1, "agentEvents")
        # Dropped: what happens now is missed live, and must come back from the log.
        for n in range(3):
            await server.command(token, agent_id, f"missed-{n}")

        variables = {"agentId": agent_id, "after": seen[-1]["seq"]}
        async with sse_subscribe(server.client.http, EVENTS, variables, token=token) as stream:
            replayed = await stream.results(3, "agentEvents")
            await server.command(token, agent_id, "live")
            live = await stream.results(1, "agentEvents")

    assert seqs(seen) == [3]
    assert seqs(replayed + live) == [4, 5, 6, 7]
    assert [e["data"]["result"]["echo"] for e in replayed + live] == [
        "missed-0",
        "missed-1",
        "missed-2",
        "live",
    ]


async def test_stream_prompt_over_sse_sends_chunks_then_complete(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with kai_server(sqlite_url, tmp_path) as server:
        token, agent_id = await owner_with_agent(server)
        # Over lines: a prompt is text as pasted (it was refused as "control characters").
        variables = {"agentId": agent_id, "prompt": "one two\nthree"}
        chunks = []
        async with sse_subscribe(server.client.http, STREAM, variables, token=token) as stream:
            while True:
                event = await stream.event()
                if event.event == "complete":
                    break
                assert event.event == "next" and "errors" not in event.data, event
                chunks.append(event.data["data"]["streamPrompt"])

    assert [c["index"] for c in chunks] == list(range(len(chunks)))
    assert len(chunks) > 1 and chunks[-1]["done"] is True
    assert "".join(c["delta"] for c in chunks).split() == ["one", "two", "three"]


async def test_sse_needs_the_bearer_token_and_hides_other_users_agents(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with kai_server(sqlite_url, tmp_path) as server:
        _, agent_id = await owner_with_agent(server)
        other = await signed_in(server.client, "other@example.com")
        http = server.client.http
        variables = {"agentId": agent_id}

        async with sse_subscribe(http, EVENTS, variables) as stream:
            anonymous = await stream.errors()
        async with sse_subscribe(http, EVENTS, variables, token="not-a-token") as stream:
            forged = await stream.errors()
        async with sse_subscribe(http, EVENTS, variables, token=other) as stream:
            not_theirs = await stream.errors()

    assert codes(anonymous) == ["UNAUTHENTICATED"]
    assert codes(forged) == ["UNAUTHENTICATED"]
    assert codes(not_theirs) == ["NOT_FOUND"]


@pytest.mark.parametrize(
    ("query", "says"), OVER_LIMIT_SUBSCRIPTIONS.values(), ids=OVER_LIMIT_SUBSCRIPTIONS.keys()
)
async def test_query_limits_apply_over_sse(
    sqlite_url: str, tmp_path: Path, query: str, says: str
) -> None:
    async with kai_server(sqlite_url, tmp_path) as server:
        token, agent_id = await owner_with_agent(server)
        async with sse_subscribe(
            server.client.http, query, {"agentId": agent_id}, token=token
        ) as stream:
            errors = await stream.errors()

    assert codes(errors) == ["QUERY_TOO_COMPLEX"]
    assert says in errors[0]["message"]


async def test_each_sse_subscribe_counts_against_the_subscribe_budget(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with kai_server(sqlite_url, tmp_path, rate_limit_subscribe_per_minute=2) as server:
        token, agent_id = await owner_with_agent(server)
        http = server.client.http
        variables = {"agentId": agent_id, "after": 1}
        async with (
            sse_subscribe(http, EVENTS, variables, token=token) as first,
            sse_subscribe(http, EVENTS, variables, token=token) as second,
        ):
            assert seqs(await first.results(1, "agentEvents")) == [2]
            assert seqs(await second.results(1, "agentEvents")) == [2]
            async with sse_subscribe(http, EVENTS, variables, token=token) as third:
                refused = await third.errors()

    assert codes(refused) == ["RATE_LIMITED"]
    assert refused[0]["extensions"]["retryAfter"] >= 1


async def test_logout_ends_an_open_sse_stream_unauthenticated(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with kai_server(sqlite_url, tmp_path, ws_auth_check_seconds=0.2) as server:
        token, agent_id = await owner_with_agent(server)
        variables = {"agentId": agent_id, "after": 1}
        async with sse_subscribe(server.client.http, EVENTS, variables, token=token) as stream:
            assert seqs(await stream.results(1, "agentEvents")) == [2]

            (await server.client.execute(LOGOUT, token=token)).ok()

            assert codes(await stream.errors()) == ["UNAUTHENTICATED"]
            with pytest.raises(StreamEnded):
                await stream.event()


async def test_shutdown_ends_sse_streams_without_complete_so_clients_reconnect(
    sqlite_url: str, tmp_path: Path
) -> None:
    app = create_app(make_settings(sqlite_url, tmp_path))
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        client = GraphQLClient(http)
        token = await signed_in(client)
        agent_id = (await create_echo(client, token))["id"]
        variables = {"agentId": agent_id, "after": 1}
        async with sse_subscribe(http, EVENTS, variables, token=token) as stream:
            assert seqs(await stream.results(1, "agentEvents")) == [2]
            view = app.state.graphql
            metrics = (await http.get("/metrics")).text
            assert "kai_event_streams_open 1.0" in metrics

            assert await view.close_sockets(reason="server shutting down") == 1

            with pytest.raises(StreamEnded):  # ended, but not `complete`: a drop
                await stream.event()
            assert view.event_streams.open == 0


async def test_a_query_over_sse_is_bounded_by_the_request_timeout(
    sqlite_url: str, tmp_path: Path, silent_llm: tuple[SilentLLM, str]
) -> None:
    llm, base_url = silent_llm
    # Long enough for the sign-up and the agent made first (all bounded by it) on a busy
    # machine.
    async with kai_server(sqlite_url, tmp_path, request_timeout_seconds=2) as server:
        token = await signed_in(server.client)
        configuration = {"baseUrl": base_url, "model": "m"}
        llm_agent = {"name": "llm", "type": "llm", "configuration": configuration}
        created = await server.client.execute(
            "mutation C($input: AgentConfigInput!) { createAgent(input: $input) { id } }",
            {"input": llm_agent},
            token=token,
        )
        agent_id = created.ok()["createAgent"]["id"]
        command = """mutation S($agentId: ID!, $command: AgentCommandInput!) {
            sendCommand(agentId: $agentId, command: $command) { success }
        }"""
        chat = {"command": "chat", "params": {"messages": [{"role": "user", "content": "hi"}]}}
        async with sse_subscribe(
            server.client.http, command, {"agentId": agent_id, "command": chat}, token=token
        ) as stream:
            errors = await stream.errors()

        assert codes(errors) == ["SERVICE_UNAVAILABLE"]
        assert "2 s" in errors[0]["message"]
        await asyncio.wait_for(llm.abandoned.wait(), 5)  # the work was cancelled


async def test_a_slow_sse_reader_is_cut_off_and_resumes_with_after(
    sqlite_url: str, tmp_path: Path, overflowed: asyncio.Event
) -> None:
    async with kai_server(sqlite_url, tmp_path, subscriber_buffer=5) as server:
        token, agent_id = await owner_with_agent(server)
        # A reader that stops reading (what it has not read piles up in the socket buffers
        # on both sides, then in the server, until the hub cuts it off).
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as slow:
            variables = {"agentId": agent_id, "after": 1}
            async with sse_subscribe(slow, EVENTS, variables, token=token) as stream:
                assert seqs(await stream.results(1, "agentEvents")) == [2]
                blob = "x" * 100_000
                produced = 2
                async with asyncio.timeout(20):
                    while not overflowed.is_set():
                        await server.command(token, agent_id, blob=blob)
                        produced += 1

                received, error = await events_until_error(stream)

        assert codes([error]) == ["SERVICE_UNAVAILABLE"]
        assert "after" in error["message"]
        assert seqs(received) == list(range(3, 3 + len(received)))
        last = received[-1]["seq"] if received else 2
        variables = {"agentId": agent_id, "after": last}
        async with sse_subscribe(server.client.http, EVENTS, variables, token=token) as stream:
            rest = await stream.results(produced - last, "agentEvents")
        assert seqs(rest) == list(range(last + 1, produced + 1))


async def events_until_error(stream: SSEStream) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    received: list[dict[str, Any]] = []
    while True:
        event = await stream.event()
        assert event.event == "next", event
        if "errors" in event.data:
            assert (await stream.event()).event == "complete"
            return received, event.data["errors"][0]
        received.append(event.data["data"]["agentEvents"])


async def test_sse_and_websocket_subscribers_see_the_same_events(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with kai_server(sqlite_url, tmp_path) as server:
        token = await signed_in(server.client)
        agent = await create_echo(server.client, token)
        variables = {"agentId": agent["id"], "after": 0}
        async with (
            sse_subscribe(server.client.http, EVENTS, variables, token=token) as stream,
            ws_connect(server.url, "graphql-transport-ws", token=token) as ws,
        ):
            op = await ws.subscribe(EVENTS, variables)
            await server.command(token, agent["id"], "both")
            over_sse = await stream.results(3, "agentEvents")
            over_ws = await ws.results(op, 3, "agentEvents")

    assert over_sse == over_ws
    assert seqs(over_sse) == [1, 2, 3]


@pytest.mark.parametrize(
    ("accept", "streams"),
    [
        ("text/event-stream", True),
        ("text/event-stream, application/json;q=0.5", True),
        # urql's Accept on every query and mutation: JSON comes first, so JSON it gets.
        (
            "application/graphql-response+json, application/graphql+json, application/json, "
            "text/event-stream, multipart/mixed",
            False,
        ),
        ("application/json;q=0.9, text/event-stream", True),
        ("application/json, text/event-stream;q=0", False),
        ("*/*", False),
        ("", False),
    ],
)
def test_an_event_stream_is_sent_only_to_clients_that_prefer_it(accept: str, streams: bool) -> None:
    assert prefers_event_stream(accept) is streams


async def test_a_query_from_a_client_that_lists_json_first_gets_json(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with kai_server(sqlite_url, tmp_path) as server:
        token = await signed_in(server.client)
        accept = "application/graphql-response+json, application/json, text/event-stream"
        response = await server.client.http.post(
            "/graphql",
            json={"query": "{ me { email } }"},
            headers={"accept": accept, "authorization": f"Bearer {token}"},
        )

    # The first JSON type it lists (tests/test_graphql_over_http.py: the negotiation).
    assert response.headers["content-type"] == "application/graphql-response+json; charset=utf-8"
    assert response.json() == {"data": {"me": {"email": "owner@example.com"}}}
