"""Live-event fan-out: one agent event to thousands of `agentEvents` subscribers.

For each size N (1,000 and 5,000 by default) it starts a fresh `kai serve` (one
process, SQLite in a temp directory, embedded defaults, rate limits off), opens N
graphql-transport-ws connections, each its own socket, `connection_init` with one
user's bearer token and subscribed to `agentEvents` of one `echo` agent, spread over
client processes of their own; then measures:

- delivery: one `sendCommand` to the agent makes exactly one event (COMMAND_RESULT);
  from just before the mutation is sent until each subscriber has the message:
  p50, p99 and max over the subscribers, per event;
- memory: the server's RSS (VmRSS) before the N connect and once all are subscribed
  and idle, divided by N (and again after the events: permessage-deflate's
  compressor only touches its memory once it has compressed something);
- the same N sockets on a bare Starlette broadcast under the same uvicorn
  (bench/_fanout_bare.py), fanning out the very bytes kAI sent, in the same run:
  the floor of the ASGI stack kAI runs on, so the ratio is kAI's own cost; and
  the delivery of the same event to a single subscriber of the same server.

Then, on another fresh server, slow subscribers: a few sockets that subscribe and
never read again (a 4 KiB receive buffer), beside one that reads everything, while
thousands of large events are published: the server's RSS as they go, what the
server does with those sockets, and what one of them finds once it reads again.

The clients run on the same machine (their own latency is in the figures, and in
the baseline's alike).

    uv run python bench/fanout.py [--subscribers 1000,5000] [--events 5] ...
"""

from __future__ import annotations

import sys
from pathlib import Path

# The script's own directory comes first on sys.path: a module of bench/ named like
# one of the standard library (bench/http.py) would shadow it for every import below.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import platform
import re
import resource
import signal
import socket
import struct
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "x" * 40
REGISTER = """
mutation($input: RegisterInput!) { register(input: $input) { accessToken } }
"""
CREATE = 'mutation { createAgent(input: {name: "bench", type: "echo"}) { id } }'
COMMAND = """
mutation($agentId: ID!, $params: JSON) {
  sendCommand(agentId: $agentId, command: {command: "ping", params: $params}) { success }
}
"""
EVENTS = """
subscription($agentId: ID!) { agentEvents(agentId: $agentId) { seq agentId type data timestamp } }
"""
PROTOCOL = "graphql-transport-ws"
SEQ = re.compile(r'"seq":\s*(\d+)')
TARGET_SUBSCRIBERS = 5000
TARGET_P99_MS = 500.0
TARGET_KIB_PER_CONNECTION = 50.0
KIB = 1024
MIB = 1 << 20


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_open_files(needed: int) -> int:
    """Soft RLIMIT_NOFILE up to the hard limit; children (server, clients) inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < needed:
        raise SystemExit(
            f"bench: needs {needed} open files per process, the hard limit is {hard} "
            "(raise it: ulimit -Hn, or LimitNOFILE)"
        )
    return wanted


# -- the client processes ------------------------------------------------------------------


@dataclass
class Fleet:
    """One client process's subscribers: each its own socket, each message timestamped."""

    url: str
    init: str
    subscribe: str
    count: int
    concurrency: int
    deflate: bool
    arrivals: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    waiters: dict[int, asyncio.Future[None]] = field(default_factory=dict)
    sockets: list[ClientConnection] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closes: list[str] = field(default_factory=list)
    retries: list[str] = field(default_factory=list)
    live: set[int] = field(default_factory=set)  # ids of the sockets that got an event
    sample: str | None = None

    async def open(self, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109
        began = time.monotonic()
        gate = asyncio.Semaphore(self.concurrency)
        ready = [asyncio.get_running_loop().create_future() for _ in range(self.count)]
        self.tasks = [asyncio.create_task(self._run(gate, future)) for future in ready]
        done, pending = await asyncio.wait(ready, timeout=timeout)
        failures = [str(f.exception()) for f in done if f.exception() is not None]
        return {
            "ready": len(done) - len(failures),
            "failed": failures[:3] + ([f"... {len(failures)} in all"] if len(failures) > 3 else []),
            "pending": len(pending),
            "retries": list(self.retries),
            "seconds": time.monotonic() - began,
        }

    async def _run(self, gate: asyncio.Semaphore, ready: asyncio.Future[None]) -> None:
        """Connects, as a client would: a refused or dropped attempt is tried again (3 in all)."""
        for attempt in range(3):
            ws: ClientConnection | None = None
            try:
                async with gate:
                    ws = await connect(
                        self.url,
                        subprotocols=[Subprotocol(PROTOCOL)],
                        compression="deflate" if self.deflate else None,
                        ping_interval=None,
                        open_timeout=60,
                        close_timeout=5,
                    )
                    await ws.send(self.init)
                    ack = await asyncio.wait_for(ws.recv(), 60)
                    if '"connection_ack"' not in str(ack):
                        raise RuntimeError(f"no connection_ack: {ack!r}")
                    await ws.send(self.subscribe)
                break
            except Exception as exc:
                self.retries.append(f"{type(exc).__name__}: {exc}"[:120])
                if ws is not None:
                    ws.transport.abort()
                if attempt == 2:
                    ready.set_exception(exc)
                    ready.exception()  # retrieved: reported by open()
                    return
                await asyncio.sleep(1 + attempt)
        assert ws is not None
        self.sockets.append(ws)
        ready.set_result(None)
        try:
            async for message in ws:
                now = time.monotonic_ns()
                found = SEQ.search(message if isinstance(message, str) else message.decode())
                if found is None:
                    self.closes.append(f"unexpected: {str(message)[:200]}")
                    continue
                seq = int(found.group(1))
                arrived = self.arrivals[seq]
                arrived.append(now)
                self.live.add(id(ws))
                if self.sample is None:
                    self.sample = str(message)
                waiter = self.waiters.get(seq)
                if waiter is not None and len(arrived) >= self.count and not waiter.done():
                    waiter.set_result(None)
        except ConnectionClosed as exc:
            self.closes.append(f"closed {exc.rcvd.code if exc.rcvd else None}")

    async def collect(self, seq: int, timeout: float) -> list[int]:  # noqa: ASYNC109
        """Arrival times (monotonic ns) of `seq` at this process's subscribers."""
        if len(self.arrivals[seq]) < self.count:
            waiter = self.waiters[seq] = asyncio.get_running_loop().create_future()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout)
        return self.arrivals.pop(seq, [])

    async def close(self) -> None:
        sockets, self.sockets = self.sockets, []
        for start in range(0, len(sockets), 500):
            await asyncio.gather(
                *(ws.close() for ws in sockets[start : start + 500]), return_exceptions=True
            )
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []


def client_process(pipe: Connection) -> None:
    """The body of a client process: runs the commands the bench sends over `pipe`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the bench stops us with "exit"
    asyncio.run(_client_loop(pipe))


async def _client_loop(pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    fleet: Fleet | None = None
    while True:
        command, args = await loop.run_in_executor(None, pipe.recv)
        if command == "open":
            fleet = Fleet(**args["fleet"])
            pipe.send(await fleet.open(args["timeout"]))
        elif command == "collect":
            assert fleet is not None
            pipe.send(await fleet.collect(args["seq"], args["timeout"]))
        elif command == "live":  # how many got an event so far; forgets the arrivals
            pipe.send(len(fleet.live) if fleet else 0)
            if fleet is not None:
                fleet.arrivals.clear()
        elif command == "sample":
            pipe.send(fleet.sample if fleet else None)
        elif command == "close":
            closes = fleet.closes if fleet else []
            if fleet is not None:
                await fleet.close()
            fleet = None
            pipe.send(closes)
        elif command == "exit":
            if fleet is not None:
                await fleet.close()
            pipe.send(None)
            return


class Clients:
    """The client processes, driven from the bench's event loop."""

    def __init__(self, processes: int):
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes: list[Any] = []
        for _ in range(processes):
            ours, theirs = context.Pipe()
            process = context.Process(target=client_process, args=(theirs,), daemon=True)
            process.start()
            theirs.close()
            self.pipes.append(ours)
            self.processes.append(process)
        self.counts = [0] * processes

    async def _ask(self, pipe: Connection, command: str, args: dict[str, Any]) -> Any:
        loop = asyncio.get_running_loop()
        pipe.send((command, args))
        return await loop.run_in_executor(None, pipe.recv)

    async def _all(self, command: str, args: list[dict[str, Any]]) -> list[Any]:
        pipes = self.pipes[: len(args)]
        return list(
            await asyncio.gather(
                *(self._ask(p, command, a) for p, a in zip(pipes, args, strict=True))
            )
        )

    async def open(
        self, url: str, token: str, agent_id: str, count: int, *, deflate: bool, concurrency: int
    ) -> dict[str, Any]:
        """`count` subscribers, spread evenly over the processes (fewer if count is small)."""
        used = min(len(self.pipes), count)
        self.counts = [count // used + (1 if i < count % used else 0) for i in range(used)]
        init = json.dumps(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        )
        subscribe = json.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": EVENTS, "variables": {"agentId": agent_id}},
            }
        )
        timeout = 60 + count / 20  # at least 20 connections a second, or it is broken
        answers = await self._all(
            "open",
            [
                {
                    "fleet": {
                        "url": url,
                        "init": init,
                        "subscribe": subscribe,
                        "count": n,
                        "concurrency": max(1, concurrency // used),
                        "deflate": deflate,
                    },
                    "timeout": timeout,
                }
                for n in self.counts
            ],
        )
        return {
            "ready": sum(a["ready"] for a in answers),
            "failed": [f for a in answers for f in a["failed"]],
            "retries": [r for a in answers for r in a["retries"]],
            "seconds": max(a["seconds"] for a in answers),
        }

    async def collect(self, seq: int, timeout: float) -> list[int]:  # noqa: ASYNC109
        answers = await self._all(
            "collect", [{"seq": seq, "timeout": timeout} for _ in self.counts]
        )
        return [t for answer in answers for t in answer]

    async def live(self) -> int:
        """Subscribers that have had an event (so are live on the hub); drops the arrivals."""
        return sum(await self._all("live", [{} for _ in self.counts]))

    async def sample(self) -> str | None:
        answer: str | None = await self._ask(self.pipes[0], "sample", {})
        return answer

    async def close(self) -> list[str]:
        answers = await self._all("close", [{} for _ in self.counts])
        return [c for answer in answers for c in answer]

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError, EOFError, BrokenPipeError):
                pipe.send(("exit", {}))
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()


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


def spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(  # noqa: S603 (this interpreter, running kai or the baseline)
            argv, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )


@asynccontextmanager
async def process_server(argv: list[str], env: dict[str, str], log: Path) -> AsyncIterator[Server]:
    """A server process (`argv` + a free port), healthy on /healthz; stopped at the end."""
    port = free_port()
    process = spawn([*argv, str(port)], env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{url}/healthz")).status_code == 200:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    output = await asyncio.to_thread(log.read_text)
                    raise SystemExit(f"bench: {argv} did not start:\n{output[-4000:]}")
                await asyncio.sleep(0.1)
        yield Server(url, process.pid, log)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def kai_env(scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAI_")}
    limits = {
        f"KAI_RATE_LIMIT_{family}_PER_MINUTE": "0"
        for family in ("QUERY", "MUTATION", "SUBSCRIBE", "UPLOAD", "AGENT", "ANONYMOUS")
    }
    return (
        env
        | limits
        | {
            "KAI_DATA_DIR": str(scratch / "data"),
            "KAI_DATABASE_URL": f"sqlite+aiosqlite:///{scratch / 'kai.db'}",
            "KAI_JWT_SECRET": SECRET,
            "KAI_QDRANT_URL": ":memory:",
            "KAI_LOG_LEVEL": "WARNING",
            "KAI_RATE_LIMIT_AUTH_PER_IP": "100000",
            "KAI_RATE_LIMIT_AUTH_PER_ACCOUNT": "100000",
            "TMPDIR": str(scratch),
        }
    )


@asynccontextmanager
async def kai_server(scratch: Path, name: str, extra: dict[str, str]) -> AsyncIterator[Server]:
    directory = scratch / name
    directory.mkdir()
    argv = [sys.executable, "-m", "kai.cli", "serve", "--port"]
    env = kai_env(directory) | extra
    async with process_server(argv, env, directory / "serve.log") as server:
        yield server


@asynccontextmanager
async def bare_server(scratch: Path, name: str) -> AsyncIterator[Server]:
    directory = scratch / name
    directory.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAI_")}
    argv = [sys.executable, str(ROOT / "bench" / "_fanout_bare.py")]
    async with process_server(argv, env, directory / "bare.log") as server:
        yield server


class Api:
    """GraphQL over HTTP as one user."""

    def __init__(self, http: httpx.AsyncClient):
        self.http = http
        self.token = ""

    async def call(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {self.token}"} if self.token else {},
        )
        try:
            body = response.json()
        except ValueError:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:500]}") from None
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body["data"]

    async def setup(self) -> str:
        """Registers the user, creates the echo agent; its id."""
        credentials = {"email": "bench@example.com", "password": "correct horse battery staple"}
        self.token = (await self.call(REGISTER, {"input": credentials}))["register"]["accessToken"]
        return str((await self.call(CREATE))["createAgent"]["id"])

    async def command(self, agent_id: str, params: dict[str, Any] | None = None) -> None:
        result = await self.call(COMMAND, {"agentId": agent_id, "params": params or {}})
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


# -- the fan-out measurement -----------------------------------------------------------------


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
    print(f"... {run.name}: events", file=sys.stderr, flush=True)
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
        agent_id = await api.setup()
        seq = 2  # createAgent's STARTING and RUNNING

        async def publish(_: int) -> int:
            nonlocal seq
            seq += 1  # a command cut short by the server is recorded, and is an event too
            await api.command(agent_id)
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


# -- slow subscribers ------------------------------------------------------------------------


def ws_frame(text: str) -> bytes:
    """A masked text frame (a client's)."""
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x81])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def ws_frames(buffer: bytearray) -> list[tuple[int, bytes]]:
    """Complete (unmasked, server) frames at the start of `buffer`, removed from it."""
    frames = []
    while len(buffer) >= 2:
        opcode, length = buffer[0] & 0x0F, buffer[1] & 0x7F
        at = 2
        if length == 126:
            if len(buffer) < 4:
                break
            length, at = struct.unpack(">H", buffer[2:4])[0], 4
        elif length == 127:
            if len(buffer) < 10:
                break
            length, at = struct.unpack(">Q", buffer[2:10])[0], 10
        if len(buffer) < at + length:
            break
        frames.append((opcode, bytes(buffer[at : at + length])))
        del buffer[: at + length]
    return frames


class StuckSubscriber:
    """A raw socket that subscribes, then does not read (4 KiB receive buffer)."""

    def __init__(self, port: int, token: str, agent_id: str):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {PROTOCOL}\r\n\r\n"
            ).encode()
        )
        self.buffer = bytearray()
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, _, rest = bytes(self.buffer).partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"bench: handshake refused: {head[:200]!r}")
        self.buffer = bytearray(rest)
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        self.sock.sendall(ws_frame(json.dumps(init)))
        while not any(b"connection_ack" in data for _, data in ws_frames(self.buffer)):
            self.buffer += self._recv()
        subscribe = {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": EVENTS, "variables": {"agentId": agent_id}},
        }
        self.sock.sendall(ws_frame(json.dumps(subscribe)))

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise RuntimeError("bench: the server closed the connection")
        return data

    def read_all(self, timeout: float) -> tuple[int, int | None, str]:
        """Reads again until a close frame or EOF: (events got, close code, reason)."""
        self.sock.settimeout(timeout)
        events = 0
        try:
            while True:
                for opcode, data in ws_frames(self.buffer):
                    if opcode == 0x8:
                        code = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else None
                        return events, code, data[2:].decode(errors="replace")
                    if opcode == 0x1 and b'"next"' in data:
                        events += 1
                data = self.sock.recv(1 << 20)
                if not data:
                    return events, None, "EOF without a close frame"
                self.buffer += data
        except TimeoutError:
            return events, None, f"nothing for {timeout:g} s, no close frame"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


@dataclass
class SlowRun:
    events: int
    payload_kib: int
    stuck: int
    samples: list[tuple[int, float, float, float, float]] = field(default_factory=list)
    healthy_got: int = 0
    healthy_in_order: bool = False
    held: list[tuple[float, float, float]] = field(default_factory=list)
    rss_start_kib: int = 0
    resumed_after: float = float("nan")  # seconds from subscribing to reading again
    resumed_at_event: int = 0
    resumed: tuple[int, int | None, str] = (0, None, "not read")
    others: list[tuple[int, int | None, str]] = field(default_factory=list)
    seconds: float = 0.0


async def slow_subscribers(scratch: Path, args: argparse.Namespace) -> SlowRun:
    """One socket reads everything; the first stuck one reads again as soon as the hub has
    cut a subscriber off (a slow reader); the others never read until the end (gone)."""
    result = SlowRun(args.slow_events, args.slow_kib, args.slow)
    async with (
        kai_server(scratch, "kai-slow", args.extra_env) as server,
        httpx.AsyncClient(base_url=server.url, timeout=90) as http,
    ):
        api = Api(http)
        agent_id = await api.setup()
        names = ("kai_websockets_open", "kai_subscriptions_active", "kai_events_dropped_total")

        async def gauges() -> tuple[float, float, float]:
            a, b, c = [await metric(http, server.url, name) for name in names]
            return a, b, c

        healthy = await connect(
            server.ws_url,
            subprotocols=[Subprotocol(PROTOCOL)],
            ping_interval=None,
            max_size=4 * MIB,
        )
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {api.token}"}}
        await healthy.send(json.dumps(init))
        await healthy.recv()
        subscribe = {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": EVENTS, "variables": {"agentId": agent_id}},
        }
        await healthy.send(json.dumps(subscribe))
        seqs: list[int] = []
        all_in = asyncio.Event()

        async def read_healthy() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for message in healthy:
                    found = SEQ.search(str(message))
                    if found:
                        seqs.append(int(found.group(1)))
                        if len(seqs) >= args.slow_events:
                            all_in.set()

        reader = asyncio.create_task(read_healthy())
        stuck = [
            await asyncio.to_thread(StuckSubscriber, server.port, api.token, agent_id)
            for _ in range(args.slow)
        ]
        stopped = time.monotonic()
        if (
            await wait_subscribed(
                lambda: metric(http, server.url, "kai_subscriptions_active"), 1 + args.slow, 30
            )
            < 1 + args.slow
        ):
            raise SystemExit("bench: the slow subscribers' subscriptions did not start")
        result.rss_start_kib = server.rss_kib()
        blob = "x" * (args.slow_kib * KIB)
        began = time.monotonic()
        sent = 0
        every = max(1, args.slow_events // 12)
        lock = asyncio.Lock()
        publishing = True
        resumed: asyncio.Task[tuple[int, int | None, str]] | None = None

        async def watch() -> None:
            """The slow reader reads again once the hub has dropped a message."""
            nonlocal resumed
            while publishing and resumed is None:
                if (await metric(http, server.url, "kai_events_dropped_total")) > 0:
                    result.resumed_after = time.monotonic() - stopped
                    result.resumed_at_event = sent
                    resumed = asyncio.create_task(asyncio.to_thread(stuck[0].read_all, 60))
                    return
                await asyncio.sleep(0.25)

        async def poster() -> None:
            nonlocal sent
            while True:
                async with lock:
                    if sent >= args.slow_events:
                        return
                    sent += 1
                    number = sent
                await api.command(agent_id, {"blob": blob, "n": number})
                if number % every == 0:
                    sockets, subscriptions, dropped = await gauges()
                    result.samples.append(
                        (number, server.rss_kib() / KIB, sockets, subscriptions, dropped)
                    )

        watcher = asyncio.create_task(watch())
        await asyncio.gather(*(poster() for _ in range(4)))
        publishing = False
        result.seconds = time.monotonic() - began
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), 60)
        result.healthy_got = len(seqs)
        result.healthy_in_order = seqs == list(range(3, 3 + args.slow_events))
        # The stuck sockets, not read for a while longer: does the server let them go?
        for _ in range(max(1, args.slow_hold // 5)):
            await asyncio.sleep(5)
            result.held.append(await gauges())
        await watcher
        if resumed is not None:
            result.resumed = await resumed
        result.others = [await asyncio.to_thread(s.read_all, 10) for s in stuck[1:]]
        for s in stuck:
            s.close()
        await healthy.close()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await asyncio.sleep(1)
        result.samples.append((-1, server.rss_kib() / KIB, *(await gauges())))
    return result


# -- the report ------------------------------------------------------------------------------


def print_run(run: Run) -> None:
    print(
        f"  {run.name}: connected in {run.connect_seconds:.1f} s, {run.subscribed} "
        f"subscriptions running, {run.live} live after {run.warmups} warm-up events "
        f"({run.live_seconds:.1f} s); server RSS "
        f"{run.rss_before_kib / KIB:.0f} -> {run.rss_idle_kib / KIB:.0f} MiB idle "
        f"({run.kib_per_connection_idle:.1f} KiB/connection), "
        f"{run.rss_after_kib / KIB:.0f} MiB after the events "
        f"({run.kib_per_connection_after:.1f} KiB/connection); server CPU while idle "
        f"after that: {100 * run.idle_cpu:.0f}% of a core"
    )
    for error in sorted(set(run.warmup_errors))[:2]:
        print(f"    a warm-up event failed: {error}")
    for number, d in enumerate(run.deliveries, 1):
        if d.error:
            print(
                f"    event {number}: the mutation failed after {d.mutation_ms:.0f} ms: {d.error}"
            )
            continue
        print(
            f"    event {number}: p50 {d.p(50):7.1f} ms  p99 {d.p(99):7.1f} ms  "
            f"max {max(d.latencies, default=float('nan')):7.1f} ms  "
            f"({len(d.latencies)}/{d.expected} got it; mutation answered at "
            f"{d.mutation_ms:.1f} ms)"
        )
    unexpected = [c for c in run.closes if not c.startswith("closed 1000")]
    if unexpected:
        print(f"    client notes: {unexpected[:5]} ({len(unexpected)} in all)")
    if run.retries:
        print(
            f"    {len(run.retries)} connection attempts failed and were tried again, e.g. "
            f"{sorted(set(run.retries))[:3]}"
        )
    for line in run.server_log:
        print(f"    server log: {line}")


def header(args: argparse.Namespace) -> None:
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; server and {args.clients} client processes "
        "on the same machine, loopback"
    )
    print(
        f"agentEvents fan-out: one sendCommand -> one COMMAND_RESULT event, from just before "
        f"the mutation is sent until each subscriber has it; {args.events} events per size, "
        f"{args.gap:g} s apart; clients {'without' if args.no_deflate else 'offering'} "
        "permessage-deflate (as browsers do); fresh `kai serve` (SQLite) per size"
    )
    if args.extra_env:
        print(f"kAI settings beyond the bench's (--env): {args.extra_env}")
    print(
        "baselines, same run: the same event to 1 subscriber of the same server; and the same "
        "N sockets, same client processes, on a bare Starlette broadcast under the same uvicorn "
        "(bench/_fanout_bare.py) sending kAI's own message bytes: the ASGI stack's floor, so "
        "kai / bare is kAI's own cost"
    )
    sys.stdout.flush()


def report(
    runs: list[tuple[Run, Run, Run]],
    slow: SlowRun | None,
    args: argparse.Namespace,
) -> None:
    print()
    print(
        "       N | kAI p50 ms | p99 ms | max ms | bare p50 | bare p99 | p50 ratio | p99 ratio "
        "| 1-sub p50 | KiB/conn idle | after events | bare KiB/conn | missed"
    )
    for run, single, bare in runs:
        print(
            f"  {run.subscribers:6d} | {run.p(50):10.1f} | {run.p(99):6.1f} | "
            f"{max(run.pooled, default=float('nan')):6.1f} | {bare.p(50):8.1f} | "
            f"{bare.p(99):8.1f} | {run.p(50) / bare.p(50):9.1f} | {run.p(99) / bare.p(99):9.1f} | "
            f"{single.p(50):9.1f} | {run.kib_per_connection_idle:13.1f} | "
            f"{run.kib_per_connection_after:12.1f} | {bare.kib_per_connection_idle:13.1f} | "
            f"{run.missing}"
        )
    print("  (percentiles pooled over the events; per-event figures above)")
    if slow is not None:
        print_slow(slow)
    print_targets(runs, slow)


def print_slow(slow: SlowRun) -> None:
    print()
    print(
        f"slow subscribers: 1 socket reads everything; {slow.stuck} subscribe and stop reading "
        f"(4 KiB receive buffer): the first reads again once the hub has dropped a message (a "
        f"slow reader), the others only at the very end (gone); {slow.events} sendCommand "
        f"events of {slow.payload_kib} KiB ({slow.events * slow.payload_kib / 1024:.0f} MiB per "
        f"subscriber) in {slow.seconds:.0f} s; KAI_SUBSCRIBER_BUFFER default (1000), uvicorn's "
        "keepalive default (ping every 20 s, close 1011 if no pong within 20 s)"
    )
    print(f"  server RSS before: {slow.rss_start_kib / KIB:.0f} MiB")
    print("    events | RSS MiB | sockets open | subscriptions | events dropped")
    for number, rss, sockets, subscriptions, dropped in slow.samples:
        label = f"{number:6d}" if number >= 0 else "   end"
        print(f"    {label} | {rss:7.0f} | {sockets:12.0f} | {subscriptions:13.0f} | {dropped:.0f}")
    print("    (end: after every socket was read to its close, and closed)")
    growth = slow_growth(slow)
    print(
        f"  RSS growth over the second half of the events: {growth:.1f} MiB "
        f"({'bounded' if growth < 32 else 'GROWING'}); the reading subscriber got "
        f"{slow.healthy_got}/{slow.events} events, "
        f"{'in order, none missing' if slow.healthy_in_order else 'NOT all in order'}"
    )
    got, code, reason = slow.resumed
    print(
        f"  the slow reader, reading again {slow.resumed_after:.0f} s after it stopped (event "
        f"{slow.resumed_at_event}): {got} events (already on their way), then close {code} "
        f"{reason!r}"
    )
    if slow.held:
        sockets, subscriptions, _ = slow.held[-1]
        print(
            f"  {5 * len(slow.held)} s after the last event, the gone ones still unread: the "
            f"server holds {sockets:.0f} sockets, {subscriptions:.0f} subscriptions"
        )
    for index, (got, code, reason) in enumerate(slow.others, 2):
        print(f"  gone socket {index}, read at last: {got} events, then close {code} {reason!r}")


def slow_growth(slow: SlowRun) -> float:
    during = [s[1] for s in slow.samples if s[0] >= slow.events // 2]
    return (max(during) - during[0]) if during else float("nan")


def print_targets(runs: list[tuple[Run, Run, Run]], slow: SlowRun | None) -> None:
    print()
    at_target = [r for r, _, _ in runs if r.subscribers >= TARGET_SUBSCRIBERS]
    if not at_target:
        print(f"targets: judged at {TARGET_SUBSCRIBERS} subscribers; not run this time")
        return
    run = at_target[0]
    held = run.missing == 0 and not [c for c in run.closes if not c.startswith("closed 1000")]
    p99 = run.p(99)
    kib = run.kib_per_connection_after
    worst = max((d.p(99) for d in run.deliveries if d.latencies), default=float("nan"))
    print(f"targets at {run.subscribers} subscribers:")
    print(
        f"  held, every event to every subscriber: {'MET' if held else 'MISSED'} "
        f"({run.missing} deliveries missing; {len(run.retries)} connection attempts had to be "
        "made again)"
    )
    print(
        f"  p99 delivery under {TARGET_P99_MS:.0f} ms: "
        f"{'MET' if p99 < TARGET_P99_MS else 'MISSED'} "
        f"({p99:.0f} ms; worst event's p99 {worst:.0f} ms)"
    )
    print(
        f"  server memory under {TARGET_KIB_PER_CONNECTION:.0f} KiB a connection: "
        f"{'MET' if kib < TARGET_KIB_PER_CONNECTION else 'MISSED'} ({kib:.1f} KiB after the "
        f"events, {run.kib_per_connection_idle:.1f} KiB idle before them)"
    )
    if slow is not None:
        growth = slow_growth(slow)
        print(
            f"  slow subscribers leave memory bounded: {'MET' if growth < 32 else 'MISSED'} "
            f"({growth:.1f} MiB over the second half of {slow.events} events)"
        )


# -- main --------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Fan-out of agentEvents to many WebSocket subscribers of one `kai serve`.",
    )
    parser.add_argument(
        "--subscribers", default="1000,5000", help="comma-separated sizes (default 1000,5000)"
    )
    parser.add_argument("--events", type=int, default=5, help="events measured per size (5)")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between events (1)")
    parser.add_argument("--clients", type=int, default=2, help="client processes (2)")
    parser.add_argument(
        "--connect", type=int, default=100, help="handshakes in flight at once, in all (100)"
    )
    parser.add_argument(
        "--no-deflate", action="store_true", help="clients do not offer permessage-deflate"
    )
    parser.add_argument("--settle", type=float, default=3.0, help="idle seconds before RSS (3)")
    parser.add_argument(
        "--idle-seconds", type=float, default=10.0, help="idle CPU sampled this long (10)"
    )
    parser.add_argument(
        "--event-timeout", type=float, default=60.0, help="longest wait for one event (60)"
    )
    parser.add_argument(
        "--warmup-timeout",
        type=float,
        default=120.0,
        help="longest wait for every subscriber to be live (120)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KAI_X=VALUE",
        help="a setting for the kAI servers, beyond the bench's (repeatable), to diagnose",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare broadcast")
    parser.add_argument("--slow", type=int, default=3, help="stuck subscribers (3; 0: skip)")
    parser.add_argument(
        "--slow-events", type=int, default=3000, help="events published at them (3000)"
    )
    parser.add_argument("--slow-kib", type=int, default=32, help="KiB of text per event (32)")
    parser.add_argument(
        "--slow-hold", type=int, default=45, help="seconds the stuck sockets are watched after (45)"
    )
    args = parser.parse_args()
    try:
        args.sizes = [int(n) for n in args.subscribers.split(",") if n.strip()]
    except ValueError:
        parser.error("--subscribers takes comma-separated whole numbers")
    try:
        args.extra_env = dict(item.split("=", 1) for item in args.env)
    except ValueError:
        parser.error("--env takes KAI_X=VALUE")
    if any(not key.startswith("KAI_") for key in args.extra_env):
        parser.error("--env sets KAI_* settings only")
    if not args.sizes or min(args.sizes) < 1 or max(args.sizes) > 20000:
        parser.error("--subscribers: sizes from 1 to 20000")
    if not 1 <= args.clients <= 16 or args.events < 1 or args.connect < 1:
        parser.error("--clients 1..16, --events and --connect at least 1")
    return args


async def amain(args: argparse.Namespace, scratch: Path) -> None:
    header(args)
    clients = Clients(args.clients)
    try:
        runs = []
        for n in args.sizes:
            print(f"... {n} subscribers: kAI", file=sys.stderr, flush=True)
            run, single, sample = await kai_size(scratch, clients, n, args)
            if args.no_baseline:
                bare = Run(f"bare broadcast, {n} sockets (skipped)", n)
            else:
                print(f"... {n} subscribers: bare broadcast", file=sys.stderr, flush=True)
                bare = await bare_size(scratch, clients, n, sample, args)
            runs.append((run, single, bare))
            print(f"N = {n}:")
            print_run(single)
            print_run(run)
            print_run(bare)
            sys.stdout.flush()
    finally:
        await asyncio.to_thread(clients.stop)
    slow = None
    if args.slow:
        print("... slow subscribers", file=sys.stderr, flush=True)
        slow = await slow_subscribers(scratch, args)
    report(runs, slow, args)


def main() -> None:
    args = parse_args()
    if not Path("/proc/self/status").exists():
        raise SystemExit("bench: reads the server's memory from /proc (Linux only)")
    # Server: N sockets and its files; each client process: its share of the N.
    raise_open_files(max(args.sizes) + 1024)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="kai-bench-fanout-") as scratch:
        asyncio.run(amain(args, Path(scratch)))


if __name__ == "__main__":
    main()
