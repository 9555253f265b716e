"""A thousand subscriptions dropped in every way a client can go, over graphql-transport-ws,
legacy graphql-ws and graphql-sse, on a real server: each operation's stream is closed by
the server, nothing is left to the garbage collector, and the server logs nothing but
connections opening and closing.

The ways: a close frame (or, over SSE, a disconnect while events are flowing), a TCP reset,
`complete`/`stop`, the operation finishing by itself, a reader too slow to keep up (cut off
by the server), a logout (the session's sockets closed, its streams ended), and the server
shutting down. Each round is one server's life, ended by its own shutdown; the mix of ways,
transports and operations is drawn from a seeded generator (the seed is in the test's id).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import re
import signal
import socket
import struct
import subprocess
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from kai.app import create_app
from kai.events.hub import Overflow, Subscription
from kai.graphql.operation_streams import OPEN
from tests.support.agents import COMMAND, create_echo, signed_in
from tests.support.graphql_client import GraphQLClient
from tests.support.servers import clean_env, kai_serve, serve_app
from tests.support.settings import make_settings
from tests.support.sse_client import SSEStream, StreamEnded
from tests.support.subscriptions import EVENTS, LOGOUT, STREAM
from tests.support.ws_client import LEGACY_WS, TRANSPORT_WS, WSClient, ws_connect

# The client forgets an idle connection before uvicorn closes it (after 5 s): with
# httpx's default, also 5 s, a request could go out on a connection the server was
# closing at that moment, and fail with ReadError (seen under a loaded CI machine).
KEEP_ALIVE = httpx.Limits(keepalive_expiry=2.0)

pytestmark = pytest.mark.slow

SSE = "graphql-sse"
TOTAL = 1000
ROUNDS = 8
WAYS: dict[str, tuple[str, ...]] = {
    TRANSPORT_WS: ("close", "reset", "complete", "finish", "slow", "logout", "shutdown"),
    LEGACY_WS: ("close", "reset", "complete", "finish", "slow", "logout", "shutdown"),
    SSE: ("close", "reset", "finish", "slow", "logout", "shutdown"),
}
# Ways that end while the operation is still running, and so may hit a prompt mid-stream.
MID_STREAM = ("close", "reset", "complete", "logout", "shutdown")
HELD = ("slow", "logout", "shutdown")  # ended together, once every one is subscribed
QUICK_AT_ONCE = 25
WAIT = 30.0
ROUND_WAIT = 300.0  # a held subscription waits for the end of its round
BLOB = "x" * 100_000  # the events that fill a slow reader's buffers
LONG_PROMPT = " ".join(["word"] * 10_000)  # 0.2 s a word: outlives its round
SHORT_PROMPT = "one two three four five"
# Logged once per server start, not by any connection.
START_UP_WARNINGS = ("no virus scanner configured",)


@dataclass(frozen=True)
class Drop:
    transport: str
    way: str
    prompt: bool


def active_subscriptions() -> float | None:
    """kai_subscriptions_active of this process (the servers run in-process), as /metrics
    reports it."""
    return REGISTRY.get_sample_value("kai_subscriptions_active")


def plan(rng: random.Random, count: int) -> list[Drop]:
    drops = []
    for _ in range(count):
        transport = rng.choice(sorted(WAYS))
        way = rng.choice(WAYS[transport])
        prompt = way == "finish" or (way in MID_STREAM and rng.random() < 0.3)
        drops.append(Drop(transport, way, prompt))
    return drops


@dataclass
class Agents:
    busy: str  # small events all the time
    quiet: str  # no events after the first: what logouts and shutdowns interrupt
    talker: str  # streams prompts, a word every 0.2 s
    flood: str  # big events, only while slow readers are being cut off


@dataclass
class Round:
    url: str
    client: GraphQLClient
    token: str
    logout_token: str
    agents: Agents
    after: Callable[[str], Awaitable[int | None]]  # where an agent's subscription starts
    subscribed: asyncio.Semaphore  # released once per held subscription that is live
    logged_out: asyncio.Event
    cut_off: asyncio.Event  # every slow reader has been cut off by the hub

    async def command(self, agent_id: str, **params: Any) -> None:
        variables = {"agentId": agent_id, "command": {"command": "ping", "params": params}}
        (await self.client.execute(COMMAND, variables, token=self.token)).ok()

    async def operation(self, drop: Drop) -> tuple[str, dict[str, Any]]:
        """The document and variables of `drop`'s subscription; its first result is near."""
        if drop.prompt:
            words = SHORT_PROMPT if drop.way == "finish" else LONG_PROMPT
            return STREAM, {"agentId": self.agents.talker, "prompt": words}
        agents = self.agents
        by_way = {"slow": agents.flood, "logout": agents.quiet, "shutdown": agents.quiet}
        agent_id = by_way.get(drop.way, agents.busy)
        return EVENTS, {"agentId": agent_id, "after": await self.after(agent_id)}


# --- the clients ----------------------------------------------------------------------


def reset_on_close(sock: socket.socket) -> None:
    """Closing the socket now sends a TCP reset instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def over_websocket(run: Round, drop: Drop) -> str:
    """One subscription over a socket, dropped `drop.way`; what the client saw last."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if drop.way == "slow":  # stops taking data soon once its reader stops reading
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    port = int(run.url.rsplit(":", 1)[1])
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    token = run.logout_token if drop.way == "logout" else run.token
    options: dict[str, Any] = {"max_queue": 1} if drop.way == "slow" else {}
    async with ws_connect(
        run.url, drop.transport, token=token, sock=sock, compression=None, **options
    ) as ws:
        query, variables = await run.operation(drop)
        op = await ws.subscribe(query, variables)
        first = await ws.receive(op, WAIT)
        assert first.type == "next" and not first.errors, first
        return await _end_websocket(run, drop, ws, op, sock)


async def _end_websocket(run: Round, drop: Drop, ws: WSClient, op: str, sock: socket.socket) -> str:
    if drop.way == "close":
        await ws.connection.close()
        return "closed"
    if drop.way == "reset":
        reset_on_close(sock)
        ws.connection.transport.abort()
        return "reset"
    if drop.way == "complete":
        await ws.stop(op)
        if ws.legacy:  # the legacy server confirms a stop
            assert (await ws.until_complete(op, WAIT))[-1].type == "complete"
        await ws.alive()  # the socket outlives its operation
        return "completed"
    if drop.way == "finish":
        messages = await ws.until_complete(op, WAIT)
        assert messages[-1].type == "complete" and not any(m.errors for m in messages), messages
        return "finished"
    run.subscribed.release()
    if drop.way == "slow":
        await run.cut_off.wait()
    code, _ = await ws.closed(timeout=ROUND_WAIT)
    return f"closed {code}"


async def over_sse(run: Round, drop: Drop) -> str:
    """One subscription over Server-Sent Events (its own connection), dropped `drop.way`."""
    token = run.logout_token if drop.way == "logout" else run.token
    query, variables = await run.operation(drop)
    headers = {"accept": "text/event-stream", "authorization": f"Bearer {token}"}
    body = {"query": query, "variables": variables}
    async with (
        httpx.AsyncClient(base_url=run.url, timeout=WAIT, limits=KEEP_ALIVE) as http,
        http.stream("POST", "/graphql", json=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        sock = response.extensions["network_stream"].get_extra_info("socket")
        lines = response.aiter_lines()
        try:
            stream = SSEStream(response, lines)
            first = await stream.event(WAIT)
            assert first.event == "next" and "errors" not in first.data, first
            return await _end_sse(run, drop, stream, sock)
        finally:
            await lines.aclose()  # type: ignore[attr-defined]


async def _end_sse(run: Round, drop: Drop, stream: SSEStream, sock: socket.socket) -> str:
    if drop.way == "close":
        return "disconnected"  # leaving the block closes the connection mid-stream
    if drop.way == "reset":
        reset_on_close(sock)
        return "reset"
    if drop.way == "finish":
        while (event := await stream.event(WAIT)).event == "next":
            assert "errors" not in event.data, event
        assert event.event == "complete", event
        return "finished"
    run.subscribed.release()
    if drop.way == "slow":
        await run.cut_off.wait()
    try:
        while (event := await stream.event(ROUND_WAIT)).event == "next":
            if "errors" in event.data:
                code = event.data["errors"][0]["extensions"]["code"]
                assert (await stream.event(WAIT)).event == "complete"
                return f"error {code}"
    except StreamEnded:
        return "ended"
    return event.event


# What the client saw last, by way and transport (a way not named here is checked by its
# own steps). A slow reader hears 4413; but one that still reads nothing when uvicorn's
# 10 s close handshake runs out has its connection dropped before the close frame gets
# through its backlog (seen on a loaded machine): it sees no code. Most must hear 4413.
EXPECTED: dict[tuple[str, str], tuple[str, ...]] = {
    ("slow", TRANSPORT_WS): ("closed 4413", "closed None"),
    ("slow", LEGACY_WS): ("closed 4413", "closed None"),
    ("slow", SSE): ("error SERVICE_UNAVAILABLE",),
    ("logout", TRANSPORT_WS): ("closed 4403",),
    ("logout", LEGACY_WS): ("closed 4403",),
    ("logout", SSE): ("error UNAUTHENTICATED",),
    ("shutdown", TRANSPORT_WS): ("closed 1001",),
    ("shutdown", LEGACY_WS): ("closed 1001",),
    ("shutdown", SSE): ("ended",),  # no `complete`: the client reconnects elsewhere
}


def check_outcomes(outcomes: list[tuple[Drop, str]]) -> None:
    for drop, outcome in outcomes:
        expected = EXPECTED.get((drop.way, drop.transport))
        assert expected is None or outcome in expected, (drop, outcome)
    for transport in (TRANSPORT_WS, LEGACY_WS):
        slow = [
            outcome
            for drop, outcome in outcomes
            if (drop.way, drop.transport) == ("slow", transport)
        ]
        assert not slow or slow.count("closed 4413") * 2 > len(slow), (transport, slow)


# --- a round: one server's life -------------------------------------------------------


@asynccontextmanager
async def traffic(run: Round) -> AsyncIterator[None]:
    """Commands to the busy agent all the time: drops happen while events are on their way."""

    async def loop() -> None:
        while True:
            await run.command(run.agents.busy)
            await asyncio.sleep(0.01)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def flood_until_cut_off(run: Round, slow: int, cut: Callable[[], int]) -> None:
    async with asyncio.timeout(2 * WAIT):
        while cut() < slow:
            await run.command(run.agents.flood, blob=BLOB)
    run.cut_off.set()


def new_round(
    url: str,
    client: GraphQLClient,
    agents: Agents,
    tokens: tuple[str, str],
    after: Callable[[str], Awaitable[int | None]],
) -> Round:
    token, logout_token = tokens
    gates = asyncio.Semaphore(0), asyncio.Event(), asyncio.Event()
    return Round(url, client, token, logout_token, agents, after, *gates)


async def play_round(
    run: Round, drops: list[Drop], cut: Callable[[], int] = lambda: 0
) -> tuple[list[tuple[Drop, str]], Callable[[], Coroutine[Any, Any, list[tuple[Drop, str]]]]]:
    """Runs every drop but the shutdowns; returns their outcomes, and a coroutine that
    collects the shutdowns' once the server is stopping. `cut`: how many subscribers the
    hub has cut off so far (needed only if some drops are slow readers)."""
    start = {TRANSPORT_WS: over_websocket, LEGACY_WS: over_websocket, SSE: over_sse}
    held = [d for d in drops if d.way in HELD]
    quick = [d for d in drops if d.way not in HELD]
    cut_before = cut()

    async def one(drop: Drop, gate: asyncio.Semaphore | None = None) -> tuple[Drop, str]:
        async with gate or contextlib.nullcontext(), asyncio.timeout(ROUND_WAIT):
            return drop, await start[drop.transport](run, drop)

    held_tasks = [asyncio.create_task(one(d)) for d in held]
    async with asyncio.timeout(2 * WAIT):
        for _ in held:
            await run.subscribed.acquire()
    gate = asyncio.Semaphore(QUICK_AT_ONCE)
    async with traffic(run):
        outcomes = list(await asyncio.gather(*(one(d, gate) for d in quick)))
    slow = [t for t, d in zip(held_tasks, held, strict=True) if d.way == "slow"]
    await flood_until_cut_off(run, len(slow), lambda: cut() - cut_before)
    outcomes += await asyncio.gather(*slow)
    (await run.client.execute(LOGOUT, token=run.logout_token)).ok()
    out = [t for t, d in zip(held_tasks, held, strict=True) if d.way == "logout"]
    outcomes += await asyncio.gather(*out)
    rest = [t for t, d in zip(held_tasks, held, strict=True) if d.way == "shutdown"]

    async def shutdowns() -> list[tuple[Drop, str]]:
        return list(await asyncio.gather(*rest))

    return outcomes, shutdowns


def after_newest(app: Any) -> Callable[[str], Awaitable[int | None]]:
    """The newest stored event is replayed at once: the subscription is live after it."""
    events = app.state.services.events

    async def after(agent_id: str) -> int | None:
        newest: int = await events.last_seq(agent_id=agent_id)
        return max(0, newest - 1)

    return after


@pytest.fixture
def overflows(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """How many subscribers the hub has cut off for falling behind (in-process server)."""
    count = 0
    kill = Subscription.kill

    def counting_kill(self: Subscription, error: Exception) -> None:
        nonlocal count
        if isinstance(error, Overflow):
            count += 1
        kill(self, error)

    monkeypatch.setattr(Subscription, "kill", counting_kill)
    return lambda: count


@pytest.mark.parametrize("seed", [20261204])
async def test_a_thousand_subscriptions_dropped_every_way_leave_nothing_behind(
    sqlite_url: str,
    tmp_path: Path,
    seed: int,
    overflows: Callable[[], int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    rng = random.Random(seed)
    drops = plan(rng, TOTAL)
    settings = make_settings(
        sqlite_url, tmp_path / "data", subscriber_buffer=64, ws_auth_check_seconds=0.2
    )
    opened_before = OPEN.opened
    active_before = active_subscriptions()
    outcomes: list[tuple[Drop, str]] = []
    agents: Agents | None = None
    per_round = -(-TOTAL // ROUNDS)
    for start in range(0, TOTAL, per_round):
        app = create_app(settings)
        async with (
            serve_app(app, graceful=True) as url,
            httpx.AsyncClient(base_url=url, timeout=WAIT, limits=KEEP_ALIVE) as http,
        ):
            client = GraphQLClient(http)
            if agents is None:
                token = await signed_in(client, "dropper@example.com")
                agents = Agents(
                    busy=(await create_echo(client, token, name="busy"))["id"],
                    quiet=(await create_echo(client, token, name="quiet"))["id"],
                    talker=(
                        await create_echo(
                            client, token, name="talker", configuration={"delaySeconds": 0.2}
                        )
                    )["id"],
                    flood=(await create_echo(client, token, name="flood"))["id"],
                )
            token = (await client.login("dropper@example.com"))["accessToken"]
            logout_token = (await client.login("dropper@example.com"))["accessToken"]
            run = new_round(url, client, agents, (token, logout_token), after_newest(app))
            done, shutdowns = await play_round(run, drops[start : start + per_round], overflows)
            outcomes += done
            collecting = asyncio.create_task(shutdowns())
        # The server has shut down: its sockets closed 1001, its event streams ended.
        outcomes += await asyncio.wait_for(collecting, WAIT)
        gc.collect()
        assert OPEN.still_open() == [], f"round from {start}: operation streams left open"

    assert len(outcomes) == TOTAL
    check_outcomes(outcomes)
    seen = Counter((d.transport, d.way) for d, _ in outcomes)
    assert set(seen) == {(t, w) for t, ways in WAYS.items() for w in ways}, seen
    assert OPEN.opened - opened_before >= TOTAL
    assert active_subscriptions() == active_before  # every one has ended
    logged = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and not r.getMessage().startswith(START_UP_WARNINGS)
    ]
    assert logged == [], [f"{r.name}: {r.getMessage()}" for r in logged]


# --- the same against `kai serve` itself ----------------------------------------------

SERVED = 300
SERVED_WAYS = ("close", "reset", "complete", "finish", "logout", "shutdown")
# What `kai serve` may log while clients come and go: start-up, requests, connections
# opening and closing, and its shutdown. Any other line fails the test.
QUIET_LOG = re.compile(
    r"\S+ \S+ INFO (uvicorn\.access|uvicorn\.error|kai\.app|kai\.shutdown|alembic\S*) "
    r"|\S+ \S+ WARNING kai\.container \[-\] no virus scanner configured"
)


@contextmanager
def collected(lines: list[str], process: subprocess.Popen[str]) -> Iterator[None]:
    """Reads the process's output as it comes (a full pipe would stall the server)."""
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
    reader.start()
    try:
        yield
    finally:
        reader.join(timeout=WAIT)


async def test_a_plain_kai_serve_logs_only_connections_while_subscriptions_are_dropped(
    tmp_path: Path,
) -> None:
    rng = random.Random(20261205)
    drops = [
        Drop(transport, way, way == "finish" or (way in MID_STREAM and rng.random() < 0.3))
        for transport, way in (
            (t, rng.choice([w for w in SERVED_WAYS if w in WAYS[t]]))
            for t in (rng.choice(sorted(WAYS)) for _ in range(SERVED))
        )
    ]
    env = clean_env(
        KAI_DATA_DIR=str(tmp_path / "data"),
        KAI_JWT_SECRET="s" * 48,
        KAI_QDRANT_URL=":memory:",
        KAI_WS_AUTH_CHECK_SECONDS="0.2",
    )
    lines: list[str] = []
    with kai_serve(env, read_output=True) as (url, process), collected(lines, process):
        async with httpx.AsyncClient(base_url=url, timeout=WAIT, limits=KEEP_ALIVE) as http:
            client = GraphQLClient(http)
            token = await signed_in(client, "dropper@example.com")
            ids = [
                (await create_echo(client, token, name=name, configuration=config))["id"]
                for name, config in (("busy", {}), ("quiet", {}), ("talker", {"delaySeconds": 0.2}))
            ]
            agents = Agents(busy=ids[0], quiet=ids[1], talker=ids[2], flood=ids[1])
            logout_token = (await client.login("dropper@example.com"))["accessToken"]

            async def after(agent_id: str) -> int | None:
                # The quiet agent's two events are replayed; the busy one's are live only.
                return 0 if agent_id == agents.quiet else None

            run = new_round(url, client, agents, (token, logout_token), after)
            outcomes, shutdowns = await play_round(run, drops)
            held = [d for d in drops if d.way == "shutdown"]
            # The server closes an operation as soon as it sees its client go (a close
            # frame, a reset): give it that moment, then nothing but the held are open.
            open_now = await settled(lambda: gauge(http, "kai_operation_streams_open"), len(held))
            collecting = asyncio.create_task(shutdowns())
            process.send_signal(signal.SIGTERM)
            outcomes += await asyncio.wait_for(collecting, WAIT)
        await asyncio.to_thread(process.wait, WAIT)

    assert open_now == len(held)  # every other operation's stream was closed by the server
    check_outcomes(outcomes)
    assert len(outcomes) == SERVED
    unexpected = [line for line in lines if line.strip() and not QUIET_LOG.match(line)]
    assert unexpected == [], "".join(unexpected)
    assert any("closed" in line and "(1001)" in line for line in lines)


async def settled(read: Callable[[], Awaitable[float]], target: float) -> float:
    """`read()` once it is down to `target`, or its last value after WAIT seconds."""
    deadline = asyncio.get_running_loop().time() + WAIT
    value = await read()
    while value > target and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)  # polled over HTTP: there is no event to wait on
        value = await read()
    return value


async def gauge(http: httpx.AsyncClient, name: str) -> float:
    metrics_text = (await http.get("/metrics")).text
    values = [
        float(line.split()[-1]) for line in metrics_text.splitlines() if line.startswith(name + " ")
    ]
    assert len(values) == 1, metrics_text
    return values[0]
