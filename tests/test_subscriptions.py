"""Subscriptions over real WebSockets and uvicorn: both protocols, resume, W1-W4, slow readers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from websockets.exceptions import InvalidStatus

from kai.events.hub import Overflow
from kai.models.agent_event import AgentEventType
from tests.support.agents import RESTART, STOP, signed_in
from tests.support.subscriptions import (
    EVENTS,
    LOGOUT,
    STREAM,
    WAIT,
    kai_server,
    overflowed,
    owner_with_agent,
    seqs,
)
from tests.support.ws_client import (
    LEGACY_WS,
    PROTOCOLS,
    TRANSPORT_WS,
    SocketClosed,
    WSClient,
    bearer,
    ws_connect,
)

__all__ = ["overflowed"]  # a fixture used here


@pytest.fixture(params=PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- agentEvents: live, in order, resumable -------------------------------------------


async def test_agent_events_arrive_live_in_seq_order(
    database_url: str, tmp_path: Path, protocol: str
) -> None:
    async with kai_server(database_url, tmp_path) as server:
        token, agent_id = await owner_with_agent(server)
        async with ws_connect(server.url, protocol, token=token) as ws:
            op = await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 1})
            # Seq 2 comes from storage: from here on the subscription is live.
            assert seqs(await ws.results(op, 1, "agentEvents")) == [2]

            await server.command(token, agent_id, "first", n=1)
            (await server.client.execute(RESTART, {"id": agent_id}, token=token)).ok()
            await server.command(token, agent_id, "second", n=2)

            events = await ws.results(op, 5, "agentEvents")

    assert seqs(events) == [3, 4, 5, 6, 7]
    assert [e["type"] for e in events] == [
        "COMMAND_RESULT",
        "STATUS_UPDATE",
        "STATUS_UPDATE",
        "STATUS_UPDATE",
        "COMMAND_RESULT",
    ]
    assert {e["agentId"] for e in events} == {agent_id}
    assert events[0]["data"]["result"] == {"echo": "first", "params": {"n": 1}}
    assert [(e["data"]["from"], e["data"]["to"]) for e in events[1:4]] == [
        ("RUNNING", "STOPPED"),
        ("STOPPED", "STARTING"),
        ("STARTING", "RUNNING"),
    ]
    assert events[4]["data"]["result"] == {"echo": "second", "params": {"n": 2}}


async def first_new_event(
    ws: WSClient, op: str, cause: Callable[[], Awaitable[Any]]
) -> dict[str, Any]:
    """The first event a subscription without `after` sees, causing events until one arrives.

    Nothing tells a client when the server has gone live, so keep causing events.
    """
    async with asyncio.timeout(WAIT):
        while True:
            await cause()
            try:
                return (await ws.next(op, timeout=0.5))["agentEvents"]  # type: ignore[no-any-return]
            except TimeoutError:
                continue


async def test_resume_after_a_drop_has_no_gap_and_no_duplicate(
    database_url: str, tmp_path: Path, protocol: str
) -> None:
    async with kai_server(database_url, tmp_path) as server:
        token, agent_id = await owner_with_agent(server)

        async with ws_connect(server.url, protocol, token=token) as ws:
            op = await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 0})
            first = await ws.results(op, 2, "agentEvents")
            for n in range(3):
                await server.command(token, agent_id, n=n)
            first += await ws.results(op, 3, "agentEvents")
        assert seqs(first) == [1, 2, 3, 4, 5]

        # While disconnected:
        for n in range(3, 6):
            await server.command(token, agent_id, n=n)

        async with ws_connect(server.url, protocol, token=token) as ws:
            op = await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 5})
            resumed = await ws.results(op, 3, "agentEvents")
            await server.command(token, agent_id, n=6)
            await server.command(token, agent_id, n=7)
            resumed += await ws.results(op, 2, "agentEvents")
            assert seqs(resumed) == [6, 7, 8, 9, 10]
            assert [e["data"]["result"]["params"]["n"] for e in resumed] == [3, 4, 5, 6, 7]

            # Without `after`: only what happens from now on.
            op_new = await ws.subscribe(EVENTS, {"agentId": agent_id})
            fresh = await first_new_event(ws, op_new, lambda: server.command(token, agent_id))
            assert fresh["seq"] > 10
            await server.command(token, agent_id, "one-more")
            following = await ws.next(op_new)
            assert following["agentEvents"]["seq"] == fresh["seq"] + 1
            assert following["agentEvents"]["data"]["command"] == "one-more"

            # after: 0 is everything stored.
            last = following["agentEvents"]["seq"]
            op_all = await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 0})
            everything = await ws.results(op_all, last, "agentEvents")
            assert seqs(everything) == list(range(1, last + 1))
            assert everything[:10] == first + resumed


async def test_stream_prompt_chunks_arrive_in_order_and_are_agent_events(
    database_url: str, tmp_path: Path, protocol: str
) -> None:
    prompt = "the quick brown fox"
    async with kai_server(database_url, tmp_path) as server:
        token, agent_id = await owner_with_agent(server)
        async with ws_connect(server.url, protocol, token=token) as ws:
            events_op = await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 2})
            stream_op = await ws.subscribe(STREAM, {"agentId": agent_id, "prompt": prompt})

            messages = await ws.until_complete(stream_op)
            chunks = [m.payload["data"]["streamPrompt"] for m in messages[:-1]]
            assert [m.type for m in messages] == ["next"] * 5 + ["complete"], messages
            events = await ws.results(events_op, 1, "agentEvents")

    assert [c["index"] for c in chunks] == [0, 1, 2, 3, 4]
    assert [c["done"] for c in chunks] == [False, False, False, False, True]
    assert chunks[-1]["delta"] == ""
    assert "".join(c["delta"] for c in chunks) == prompt
    assert len({c["streamId"] for c in chunks}) == 1

    # The event log holds the answer joined: one event for a short, quick one.
    assert seqs(events) == [3]
    assert [e["data"] for e in events] == [
        {"streamId": chunks[0]["streamId"], "index": 0, "delta": prompt, "done": True}
    ]


async def test_concurrent_commands_get_consecutive_seqs(database_url: str, tmp_path: Path) -> None:
    writers = 50
    async with kai_server(database_url, tmp_path) as server:
        token, agent_id = await owner_with_agent(server)

        results = await asyncio.gather(
            *(server.command(token, agent_id, n=n) for n in range(writers))
        )
        assert all(result["success"] for result in results)

        stored = await server.services.events.after(agent_id=agent_id, after=0)
        total = writers + 2
        assert [event.seq for event in stored] == list(range(1, total + 1))
        params = sorted(e.data["result"]["params"]["n"] for e in stored[2:])
        assert params == list(range(writers))

        async with ws_connect(server.url, TRANSPORT_WS, token=token) as ws:
            op = await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 0})
            assert seqs(await ws.results(op, total, "agentEvents")) == list(range(1, total + 1))


# --- W1: the handshake's Origin ------------------------------------------------------


async def test_a_handshake_from_an_origin_not_allowed_is_refused(
    sqlite_url: str, tmp_path: Path, protocol: str
) -> None:
    allowed = "https://app.example.test"
    async with kai_server(sqlite_url, tmp_path, allowed_origins=[allowed]) as server:
        token = await signed_in(server.client)

        with pytest.raises(InvalidStatus) as refused:
            async with ws_connect(server.url, protocol, origin="https://evil.example.test"):
                pass
        assert refused.value.response.status_code == 403

        # Listed; a page on loopback (development only); not a browser.
        for origin in (allowed, server.url, None):
            async with ws_connect(server.url, protocol, token=token, origin=origin) as ws:
                await ws.alive()


async def test_H1_an_origin_that_only_matches_the_host_header_is_refused(
    sqlite_url: str, tmp_path: Path, protocol: str
) -> None:
    # DNS rebinding: a hostile page's name now points at the server, so the browser sends
    # Origin and Host of that same name. Strawberry took that as same-origin.
    async with kai_server(sqlite_url, tmp_path, public_url="https://kai.example.test") as server:
        port = urlsplit(server.url).port
        rebound = f"http://rebound.example.test:{port}"

        with pytest.raises(InvalidStatus) as refused:
            async with ws_connect(rebound, protocol, origin=rebound, host="127.0.0.1", port=port):
                pass
        assert refused.value.response.status_code == 403

        # The server's own public origin is allowed whatever the Host.
        token = await signed_in(server.client)
        async with ws_connect(
            rebound,
            protocol,
            token=token,
            origin="https://kai.example.test",
            host="127.0.0.1",
            port=port,
        ) as ws:
            await ws.alive()


# --- W2: connection_init --------------------------------------------------------------


async def test_no_connection_init_in_time_closes_4408(
    sqlite_url: str, tmp_path: Path, protocol: str
) -> None:
    async with (
        kai_server(sqlite_url, tmp_path, ws_init_timeout_seconds=0.2) as server,
        ws_connect(server.url, protocol) as ws,
    ):
        code, _ = await ws.closed()

    assert code == 4408


@pytest.mark.parametrize(
    "payload",
    [None, {}, {"authorization": "Bearer not-a-token"}, {"authorization": "Basic dTpw"}, []],
    ids=["no-payload", "no-authorization", "bad-token", "not-bearer", "not-an-object"],
)
async def test_bad_or_missing_credentials_are_refused(
    sqlite_url: str, tmp_path: Path, protocol: str, payload: Any
) -> None:
    async with kai_server(sqlite_url, tmp_path) as server, ws_connect(server.url, protocol) as ws:
        await ws.send(
            {"type": "connection_init"} | ({} if payload is None else {"payload": payload})
        )
        if protocol == LEGACY_WS:
            answer = await ws.receive(None)
            assert answer.type == "connection_error", answer
        code, _ = await ws.closed()

    expected = 4400 if payload == [] else 4403
    assert code == expected


async def test_Q1_a_user_holds_at_most_their_share_of_open_sockets(
    sqlite_url: str, tmp_path: Path, protocol: str
) -> None:
    async with kai_server(sqlite_url, tmp_path, quota_sockets_per_user=3) as server:
        token = await signed_in(server.client)
        other = await signed_in(server.client, "other@example.com")
        async with contextlib.AsyncExitStack() as held:
            for _ in range(3):
                ws = await held.enter_async_context(ws_connect(server.url, protocol, token=token))
                await ws.alive()

            async with ws_connect(server.url, protocol) as fourth:
                await fourth.send({"type": "connection_init", "payload": bearer(token)})
                if protocol == LEGACY_WS:
                    answer = await fourth.receive(None)
                    assert answer.type == "connection_error", answer
                    assert answer.payload["code"] == "QUOTA_EXCEEDED"
                code, _ = await fourth.closed()
            assert code == 4403

            # Another user's share is their own.
            async with ws_connect(server.url, protocol, token=other) as theirs:
                await theirs.alive()

        # Once one is closed, there is room again.
        async with ws_connect(server.url, protocol, token=token) as again:
            await again.alive()


async def test_a_second_connection_init_closes_4429(
    sqlite_url: str, tmp_path: Path, protocol: str
) -> None:
    async with kai_server(sqlite_url, tmp_path) as server:
        token = await signed_in(server.client)
        async with ws_connect(server.url, protocol, token=token) as ws:
            await ws.send({"type": "connection_init", "payload": bearer(token)})
            code, _ = await ws.closed()

    assert code == 4429


async def test_subscribing_before_connection_init_closes_4401(
    sqlite_url: str, tmp_path: Path, protocol: str
) -> None:
    async with kai_server(sqlite_url, tmp_path) as server:
        _, agent_id = await owner_with_agent(server)
        async with ws_connect(server.url, protocol) as ws:
            await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 0})
            code, _ = await ws.closed()

    assert code == 4401


# --- W3: each subscribe authorised; revoked credentials close the socket ---------------


async def test_another_users_agent_is_not_found_and_the_socket_survives(
    sqlite_url: str, tmp_path: Path, protocol: str
) -> None:
    async with kai_server(sqlite_url, tmp_path) as server:
        _, agent_id = await owner_with_agent(server, "owner@example.com")
        other_token, own_agent = await owner_with_agent(server, "other@example.com")
        async with ws_connect(server.url, protocol, token=other_token) as ws:
            for query, variables in (
                (EVENTS, {"agentId": agent_id, "after": 0}),
                (STREAM, {"agentId": agent_id, "prompt": "hello"}),
            ):
                op = await ws.subscribe(query, variables)
                messages = await ws.until_complete(op)
                assert [code for m in messages for code in m.codes] == ["NOT_FOUND"], messages

            await ws.alive()
            op = await ws.subscribe(EVENTS, {"agentId": own_agent, "after": 0})
            assert seqs(await ws.results(op, 2, "agentEvents")) == [1, 2]


async def test_logout_closes_the_open_socket_with_4403(
    database_url: str, tmp_path: Path, protocol: str
) -> None:
    async with kai_server(database_url, tmp_path, ws_auth_check_seconds=0.2) as server:
        token, agent_id = await owner_with_agent(server)
        async with ws_connect(server.url, protocol, token=token) as ws:
            op = await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 1})
            assert seqs(await ws.results(op, 1, "agentEvents")) == [2]

            assert (await server.client.execute(LOGOUT, token=token)).ok()["logout"] is True

            code, _ = await ws.closed(timeout=5)

    assert code == 4403


async def test_a_subscribe_after_logout_is_unauthenticated_at_once(
    sqlite_url: str, tmp_path: Path, protocol: str
) -> None:
    # The periodic re-check is far away: the subscribe itself must notice (S7).
    async with kai_server(sqlite_url, tmp_path, ws_auth_check_seconds=60) as server:
        token, agent_id = await owner_with_agent(server)
        async with ws_connect(server.url, protocol, token=token) as ws:
            (await server.client.execute(LOGOUT, token=token)).ok()

            op = await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 0})
            messages = await ws.until_complete(op)

    assert [code for m in messages for code in m.codes] == ["UNAUTHENTICATED"], messages


# --- W4: size and subscription caps, malformed messages ---------------------------------


async def test_a_message_over_the_size_cap_closes_the_socket(
    sqlite_url: str, tmp_path: Path, protocol: str
) -> None:
    async with kai_server(sqlite_url, tmp_path, ws_max_size=16 * 1024) as server:
        token, agent_id = await owner_with_agent(server)
        async with ws_connect(server.url, protocol, token=token) as ws:
            await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 0, "pad": "x" * 32 * 1024})
            code, _ = await ws.closed()

    assert code == 1009  # message too big


async def test_subscriptions_per_connection_are_capped(
    sqlite_url: str, tmp_path: Path, protocol: str
) -> None:
    async with kai_server(sqlite_url, tmp_path, ws_max_subscriptions=2) as server:
        token, agent_id = await owner_with_agent(server)
        async with ws_connect(server.url, protocol, token=token) as ws:
            ops = [await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 1}) for _ in range(2)]
            for op in ops:
                assert seqs(await ws.results(op, 1, "agentEvents")) == [2]

            refused = await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 1})
            answer = await ws.receive(refused)
            assert answer.type == "error", answer
            assert answer.codes == ["RATE_LIMITED"], answer

            # Ending one makes room for another, on the same socket.
            await ws.stop(ops[0])
            if protocol == LEGACY_WS:
                assert (await ws.receive(ops[0])).type == "complete"
            again = await until_accepted(ws, {"agentId": agent_id, "after": 1})
            assert seqs(await ws.results(again, 1, "agentEvents")) == [2]


async def until_accepted(ws: WSClient, variables: dict[str, Any]) -> str:
    """Subscribes until the server has let go of a stopped operation (it does so asynchronously)."""
    async with asyncio.timeout(WAIT):
        while True:
            op = await ws.subscribe(EVENTS, variables)
            first = await ws.receive(op)
            if first.type != "error":
                ws.put_back(first)
                return op
            await asyncio.sleep(0.01)


async def test_malformed_messages_get_the_protocols_answer(
    sqlite_url: str, tmp_path: Path, protocol: str
) -> None:
    async with kai_server(sqlite_url, tmp_path) as server:
        token, agent_id = await owner_with_agent(server)
        async with ws_connect(server.url, protocol, token=token) as ws:
            # A document that does not validate is an error of that operation only.
            op = await ws.subscribe("subscription { agentEvents(agentId: 1) { nope } }")
            answer = await ws.receive(op)
            assert answer.type == "error", answer
            assert set(answer.codes) == {"GRAPHQL_VALIDATION_FAILED"}, answer
            await ws.alive()

            if protocol == TRANSPORT_WS:
                # graphql-transport-ws closes on anything it cannot parse: 4400.
                await ws.send_raw("{not json")
                assert (await ws.closed())[0] == 4400
                return

            # graphql-ws (legacy) reports and carries on.
            await ws.send_raw("{not json")
            await ws.alive()
            await ws.send({"type": "what-is-this", "id": "x"})
            answer = await ws.receive("x")
            assert answer.type == "error", answer
            await ws.send({"type": "start", "id": "y"})
            answer = await ws.receive("y")
            assert answer.type == "error", answer
            await ws.send_raw("[1, 2]")
            assert (await ws.receive(None)).type == "connection_error"
            await ws.alive()
            op = await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 0})
            assert seqs(await ws.results(op, 2, "agentEvents")) == [1, 2]


async def test_legacy_graphql_ws_refuses_queries_with_a_code(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with kai_server(sqlite_url, tmp_path) as server:
        token = await signed_in(server.client)
        async with ws_connect(server.url, LEGACY_WS, token=token) as ws:
            op = await ws.subscribe("query { me { email } }")
            answer = await ws.receive(op)
            await ws.alive()

    assert answer.type == "error", answer
    assert answer.codes == ["BAD_USER_INPUT"], answer


async def test_transport_ws_runs_queries_too(sqlite_url: str, tmp_path: Path) -> None:
    async with kai_server(sqlite_url, tmp_path) as server:
        token = await signed_in(server.client)
        async with ws_connect(server.url, TRANSPORT_WS, token=token) as ws:
            op = await ws.subscribe("query { me { email } }")
            messages = await ws.until_complete(op)

    assert [m.type for m in messages] == ["next", "complete"], messages
    assert messages[0].payload["data"] == {"me": {"email": "owner@example.com"}}


async def test_operations_on_one_socket_do_not_share_cached_loads(
    sqlite_url: str, tmp_path: Path
) -> None:
    # The context lives as long as the socket; what its loaders cached must not.
    query = "query S($id: ID!) { agentStatus(id: $id) { metrics { commandsTotal } } }"
    async with kai_server(sqlite_url, tmp_path) as server:
        token, agent_id = await owner_with_agent(server)
        async with ws_connect(server.url, TRANSPORT_WS, token=token) as ws:
            totals = []
            for _ in range(2):
                op = await ws.subscribe(query, {"id": agent_id})
                data = await ws.next(op)
                totals.append(data["agentStatus"]["metrics"]["commandsTotal"])
                await server.command(token, agent_id)

    assert totals == [0, 1]


@pytest.mark.parametrize("message", ['{"type": "nope"}', '{"id": "1"}', "[1]", '{"type": 1}'])
async def test_transport_ws_closes_4400_on_a_malformed_message(
    sqlite_url: str, tmp_path: Path, message: str
) -> None:
    async with kai_server(sqlite_url, tmp_path) as server:
        token = await signed_in(server.client)
        async with ws_connect(server.url, TRANSPORT_WS, token=token) as ws:
            await ws.send_raw(message)
            code, _ = await ws.closed()

    assert code == 4400


# --- errors inside subscriptions carry extensions.code ------------------------------------


async def test_errors_inside_subscriptions_carry_a_code(
    sqlite_url: str, tmp_path: Path, protocol: str
) -> None:
    async with kai_server(sqlite_url, tmp_path) as server:
        token, agent_id = await owner_with_agent(server)
        async with ws_connect(server.url, protocol, token=token) as ws:
            cases: list[tuple[str, dict[str, Any], str]] = [
                (EVENTS, {"agentId": agent_id, "after": -1}, "BAD_USER_INPUT"),
                (EVENTS, {"agentId": agent_id, "after": 3}, "BAD_USER_INPUT"),  # never sent
                (STREAM, {"agentId": agent_id, "prompt": ""}, "BAD_USER_INPUT"),
                (EVENTS, {"agentId": "agt_missing"}, "NOT_FOUND"),
                (EVENTS, {"agentId": agent_id, "after": "x"}, "BAD_USER_INPUT"),
            ]
            for query, variables, code in cases:
                op = await ws.subscribe(query, variables)
                messages = await ws.until_complete(op)
                assert [c for m in messages for c in m.codes] == [code], (variables, messages)

            (await server.client.execute(STOP, {"id": agent_id}, token=token)).ok()
            op = await ws.subscribe(STREAM, {"agentId": agent_id, "prompt": "hi"})
            messages = await ws.until_complete(op)
            assert [c for m in messages for c in m.codes] == ["AGENT_UNAVAILABLE"], messages
            await ws.alive()


async def test_an_unexpected_failure_inside_a_subscription_is_masked(
    sqlite_url: str, tmp_path: Path, protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(**_: Any) -> AsyncIterator[Any]:
        raise RuntimeError("SELECT secret FROM internals")
        yield  # an async generator, like the real one

    async with kai_server(sqlite_url, tmp_path) as server:
        token, agent_id = await owner_with_agent(server)
        monkeypatch.setattr(server.services.events, "follow", broken)
        async with ws_connect(server.url, protocol, token=token) as ws:
            op = await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 0})
            messages = await ws.until_complete(op)
            await ws.alive()

    errors = [error for m in messages for error in m.errors]
    assert [e["extensions"]["code"] for e in errors] == ["INTERNAL_SERVER_ERROR"], messages
    assert "secret" not in str(messages)


# --- slow subscribers ---------------------------------------------------------------


def small_receive_buffer() -> socket.socket:
    """A client socket that stops accepting data soon once its reader stops reading."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    return sock


async def results_until_closed(ws: WSClient, op: str) -> tuple[list[dict[str, Any]], SocketClosed]:
    received: list[dict[str, Any]] = []
    async with asyncio.timeout(WAIT):
        while True:
            try:
                received.append((await ws.next(op))["agentEvents"])
            except SocketClosed as closed:
                return received, closed


async def test_a_slow_subscriber_is_closed_4413_and_resumes_with_after(
    sqlite_url: str, tmp_path: Path, protocol: str, overflowed: asyncio.Event
) -> None:
    async with kai_server(sqlite_url, tmp_path, subscriber_buffer=5) as server:
        token, agent_id = await owner_with_agent(server)
        sock = small_receive_buffer()
        port = int(server.url.rsplit(":", 1)[1])
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        async with ws_connect(
            server.url, protocol, token=token, sock=sock, max_queue=1, compression=None
        ) as ws:
            op = await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 1})
            assert seqs(await ws.results(op, 1, "agentEvents")) == [2]

            # Stop reading; produce big events until the server gives up on this reader.
            blob = "x" * 100_000
            produced = 2
            async with asyncio.timeout(2 * WAIT):
                while not overflowed.is_set():
                    await server.command(token, agent_id, blob=blob)
                    produced += 1
                    await asyncio.sleep(0)

            # Reading again: what was already on its way, then the close.
            received, closed = await results_until_closed(ws, op)
        assert closed.code == 4413
        assert "after" in closed.reason
        assert seqs(received) == list(range(3, 3 + len(received)))
        assert len(received) < produced - 2  # it really was cut off

        async with ws_connect(server.url, protocol, token=token) as ws:
            last = received[-1]["seq"] if received else 2
            op = await ws.subscribe(EVENTS, {"agentId": agent_id, "after": last})
            rest = await ws.results(op, produced - last, "agentEvents")
            assert seqs(rest) == list(range(last + 1, produced + 1))


async def test_follow_gives_overflow_when_its_reader_falls_a_buffer_behind(
    sqlite_url: str, tmp_path: Path, overflowed: asyncio.Event
) -> None:
    async with kai_server(sqlite_url, tmp_path, subscriber_buffer=3) as server:
        _, agent_id = await owner_with_agent(server)
        events = server.services.events
        follower = events.follow(agent_id=agent_id, after=1)
        try:
            assert (await anext(follower)).seq == 2  # now subscribed, and live
            for n in range(10):
                await events.record(agent_id=agent_id, type=AgentEventType.LOG, data={"n": n})
            async with asyncio.timeout(WAIT):
                await overflowed.wait()

            with pytest.raises(Overflow):
                await anext(follower)
        finally:
            await follower.aclose()


async def test_sockets_of_one_credential_share_its_re_checks(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 sockets re-checked every 0.2 s: about one query per 0.1 s, not 100 a second,
    and a logout still closes every one of them."""
    async with kai_server(sqlite_url, tmp_path, ws_auth_check_seconds=0.2) as server:
        token, agent_id = await owner_with_agent(server)
        authenticator = server.services.authenticator
        calls = 0
        authenticate = authenticator.authenticate

        async def counted(credential: str) -> Any:
            nonlocal calls
            calls += 1
            return await authenticate(credential)

        monkeypatch.setattr(authenticator, "authenticate", counted)
        async with AsyncExitStack() as stack:
            sockets = [
                await stack.enter_async_context(ws_connect(server.url, TRANSPORT_WS, token=token))
                for _ in range(20)
            ]
            for ws in sockets:
                op = await ws.subscribe(EVENTS, {"agentId": agent_id, "after": 1})
                assert seqs(await ws.results(op, 1, "agentEvents")) == [2]
            calls = 0
            await asyncio.sleep(1.0)
            checks_in_a_second = calls

            assert (await server.client.execute(LOGOUT, token=token)).ok()["logout"] is True
            codes = [(await ws.closed(timeout=5))[0] for ws in sockets]

    assert 1 <= checks_in_a_second <= 15  # per socket it would be 100
    assert codes == [4403] * 20
