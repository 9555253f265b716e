"""bench/fanout.py's measurement: the servers, and one size's deliveries, memory and load.

`kai_size` measures kAI at N subscribers, after one subscriber alone on the same
server; `bare_size` the same N sockets on the bare broadcast (bench/_fanout_bare.py)
fanning out the message kAI sent. Each goes through `measure_fleet`: RSS before the
sockets connect, once all are subscribed and idle, warm-up events until every
subscriber is live, idle CPU, then the timed events, and RSS after them.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench._fanout_clients import SEQ, Clients
from bench._seed import UNLIMITED, Api
from bench._support import (
    ROOT,
    clean_env,
    cpu_seconds,
    free_port,
    kai,
    kai_env,
    percentile,
    progress,
    serving_async,
    status_kib,
)

COMMAND = """
mutation($agentId: ID!, $params: JSON) {
  sendCommand(agentId: $agentId, command: {command: "ping", params: $params}) { success }
}
"""


# -- the servers ---------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    pid: int
    log: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/graphql"

    def rss_kib(self) -> int:
        return status_kib(self.pid)


@asynccontextmanager
async def kai_server(scratch: Path, name: str, extra: dict[str, str]) -> AsyncIterator[Server]:
    """A fresh `kai serve` (SQLite, in scratch/name), rate limits off, `extra` settings."""
    directory = scratch / name
    directory.mkdir()
    env = kai_env(
        directory,
        KAI_QDRANT_URL=":memory:",
        # One user holds every socket: the per-user quota (100 by default) must not stop it.
        KAI_QUOTA_SOCKETS_PER_USER="1000000",
        TMPDIR=str(directory),
        **UNLIMITED,
    )
    port = free_port()
    argv = kai("serve", "--port", str(port))
    log = directory / "serve.log"
    async with serving_async(argv, env | extra, port, log) as process:
        yield Server(f"http://127.0.0.1:{port}", process.pid, log)


@asynccontextmanager
async def bare_server(scratch: Path, name: str) -> AsyncIterator[Server]:
    directory = scratch / name
    directory.mkdir()
    port = free_port()
    argv = [sys.executable, str(ROOT / "bench" / "_fanout_bare.py"), str(port)]
    log = directory / "bare.log"
    async with serving_async(argv, clean_env(), port, log) as process:
        yield Server(f"http://127.0.0.1:{port}", process.pid, log)


async def setup(api: Api) -> str:
    """Registers the user, creates the echo agent; its id."""
    await api.register()
    return await api.echo_agent()


async def command(api: Api, agent_id: str, params: dict[str, Any] | None = None) -> None:
    """One sendCommand to the echo agent: one event."""
    result = await api.call(COMMAND, {"agentId": agent_id, "params": params or {}})
    if not result["sendCommand"]["success"]:
        raise RuntimeError(f"bench: the command failed: {result}")


async def metric(http: httpx.AsyncClient, url: str, name: str) -> float:
    """A sample of kAI's Prometheus metrics (0 if absent)."""
    text = (await http.get(f"{url}/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def log_summary(path: Path) -> list[str]:
    """The server's warnings and errors so far, alike ones counted together."""
    counts: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        found = re.search(r"\b(WARNING|ERROR|CRITICAL)\b|Exception in ASGI", line)
        if found and "no virus scanner" not in line:  # expected here: no scanner
            counts[line[found.start() :][:150]] += 1
    return [f"{n} x {text}" for text, n in counts.most_common(6)]


# -- one size --------------------------------------------------------------------------------


@dataclass
class Delivery:
    """One event: the latency (ms) at each subscriber that got it, of `expected`."""

    latencies: list[float]
    expected: int
    mutation_ms: float
    error: str = ""

    @property
    def missing(self) -> int:
        return self.expected - len(self.latencies)

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) if self.latencies else float("nan")


@dataclass
class Run:
    """One server at one size: its deliveries, memory and load."""

    name: str
    subscribers: int
    connect_seconds: float = 0.0
    rss_before_kib: int = 0
    rss_idle_kib: int = 0
    rss_after_kib: int = 0
    idle_cpu: float = 0.0
    deliveries: list[Delivery] = field(default_factory=list)
    closes: list[str] = field(default_factory=list)
    retries: list[str] = field(default_factory=list)
    server_log: list[str] = field(default_factory=list)
    subscribed: int = 0
    live: int = 0
    warmups: int = 0
    warmup_errors: list[str] = field(default_factory=list)
    live_seconds: float = 0.0
    sample: str = ""

    @property
    def kib_per_connection_idle(self) -> float:
        return (self.rss_idle_kib - self.rss_before_kib) / self.subscribers

    @property
    def kib_per_connection_after(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / self.subscribers

    @property
    def pooled(self) -> list[float]:
        return [ms for d in self.deliveries for ms in d.latencies]

    def p(self, q: float) -> float:
        pooled = self.pooled
        return percentile(pooled, q) if pooled else float("nan")

    @property
    def missing(self) -> int:
        return sum(d.missing for d in self.deliveries)


Publish = Callable[[int], Awaitable[int]]  # sends event number i; returns its seq


async def deliver(
    clients: Clients,
    publish: Publish,
    expected: int,
    number: int,
    timeout: float,  # noqa: ASYNC109
) -> Delivery:
    began = time.monotonic_ns()
    try:
        seq = await publish(number)
    except Exception as exc:  # e.g. the server's own request timeout: a result too
        failed = (time.monotonic_ns() - began) / 1e6
        return Delivery([], expected, failed, f"{type(exc).__name__}: {exc}"[:300])
    answered = time.monotonic_ns()
    arrivals = await clients.collect(seq, timeout)
    return Delivery([(t - began) / 1e6 for t in arrivals], expected, (answered - began) / 1e6)


async def wait_subscribed(
    count: Callable[[], Awaitable[float]],
    n: int,
    timeout: float,  # noqa: ASYNC109
) -> int:
    """Waits until `count()` reaches n, or the time is up; what it reached."""
    deadline = time.monotonic() + timeout
    while True:  # polling a server's figure: nothing here to wait on instead
        have = await count()
        if have >= n or time.monotonic() > deadline:
            return int(have)
        await asyncio.sleep(0.25)


async def measure_fleet(
    run: Run,
    server: Server,
    clients: Clients,
    *,
    token: str,
    agent_id: str,
    publish: Publish,
    subscribed: Callable[[], Awaitable[float]],
    events: int,
    args: argparse.Namespace,
) -> None:
    n = run.subscribers
    await asyncio.sleep(1)
    run.rss_before_kib = server.rss_kib()
    opened = await clients.open(
        server.ws_url, token, agent_id, n, deflate=not args.no_deflate, concurrency=args.connect
    )
    run.connect_seconds = opened["seconds"]
    run.retries = opened["retries"]
    if opened["ready"] < n:
        raise SystemExit(f"bench: {run.name}: {opened['ready']} of {n} connected: {opened}")
    run.subscribed = await wait_subscribed(subscribed, n, 60 + n / 50)
    if run.subscribed < n:
        print(
            f"bench: {run.name}: only {run.subscribed} subscriptions running; going on",
            file=sys.stderr,
            flush=True,
        )
    await asyncio.sleep(args.settle)  # idle: subscribed, nothing sent yet
    run.rss_idle_kib = server.rss_kib()
    # A running subscription is not yet a live one: it still authorises, reads the last
    # seq and joins the hub. Warm-up events until every subscriber has had one.
    began = time.monotonic()
    while run.live < n and time.monotonic() - began < args.warmup_timeout:
        try:
            await publish(-1)
        except Exception as exc:
            run.warmup_errors.append(f"{type(exc).__name__}: {exc}"[:300])
        run.warmups += 1
        await asyncio.sleep(2)
        run.live = await clients.live()
    run.live_seconds = time.monotonic() - began
    if run.live < n:
        print(
            f"bench: {run.name}: only {run.live} subscribers live after "
            f"{run.live_seconds:.0f} s; going on",
            file=sys.stderr,
            flush=True,
        )
    # Idle, every subscriber live: what holding the sockets costs the server by itself.
    cpu = cpu_seconds(server.pid)
    await asyncio.sleep(args.idle_seconds)
    run.idle_cpu = (cpu_seconds(server.pid) - cpu) / args.idle_seconds
    progress(f"{run.name}: events")
    for number in range(events):
        run.deliveries.append(await deliver(clients, publish, n, number, args.event_timeout))
        if len(run.deliveries) >= 2 and all(d.error for d in run.deliveries[-2:]):
            break  # the server cannot take a mutation now: no use waiting for more
        await asyncio.sleep(args.gap)
    run.rss_after_kib = server.rss_kib()
    run.sample = await clients.sample() or ""
    run.closes = await clients.close()
    run.server_log = await asyncio.to_thread(log_summary, server.log)


async def kai_size(
    scratch: Path, clients: Clients, n: int, args: argparse.Namespace
) -> tuple[Run, Run, str]:
    """kAI at size n, after one subscriber alone on the same server; the message it sent."""
    async with (
        kai_server(scratch, f"kai-{n}", args.extra_env) as server,
        httpx.AsyncClient(base_url=server.url, timeout=90) as http,
    ):
        api = Api(http)
        agent_id = await setup(api)
        seq = 2  # createAgent's STARTING and RUNNING

        async def publish(_: int) -> int:
            nonlocal seq
            seq += 1  # a command cut short by the server is recorded, and is an event too
            await command(api, agent_id)
            return seq

        async def subscribed() -> float:
            return await metric(http, server.url, "kai_subscriptions_active")

        single = Run("kAI, 1 subscriber", 1)
        await measure_fleet(
            single,
            server,
            clients,
            token=api.token,
            agent_id=agent_id,
            publish=publish,
            subscribed=subscribed,
            events=args.events,
            args=args,
        )
        await wait_subscribed(lambda: _negated(subscribed), 0, 30)  # the one has left
        run = Run(f"kAI, {n} subscribers", n)
        await measure_fleet(
            run,
            server,
            clients,
            token=api.token,
            agent_id=agent_id,
            publish=publish,
            subscribed=subscribed,
            events=args.events,
            args=args,
        )
        if not run.sample:
            raise SystemExit("bench: no message was received")
        return run, single, run.sample


async def _negated(count: Callable[[], Awaitable[float]]) -> float:
    return -await count()


async def bare_size(
    scratch: Path, clients: Clients, n: int, sample: str, args: argparse.Namespace
) -> Run:
    """The same N sockets on the bare broadcast, fanning out kAI's own message."""
    async with (
        bare_server(scratch, f"bare-{n}") as server,
        httpx.AsyncClient(base_url=server.url, timeout=90) as http,
    ):
        found = SEQ.search(sample)
        assert found is not None

        warmups = iter(range(2_000_000, 3_000_000))

        async def publish(number: int) -> int:
            seq = 1_000_000 + number if number >= 0 else next(warmups)
            text = sample[: found.start(1)] + str(seq) + sample[found.end(1) :]
            (await http.post("/publish", content=text.encode())).raise_for_status()
            return seq

        async def subscribed() -> float:
            return float((await http.get("/count")).text)

        run = Run(f"bare broadcast, {n} sockets", n)
        await measure_fleet(
            run,
            server,
            clients,
            token="-",
            agent_id="-",
            publish=publish,
            subscribed=subscribed,
            events=args.events,
            args=args,
        )
        return run
