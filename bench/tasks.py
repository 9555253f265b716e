"""Background tasks on Redis, end to end: enqueue -> TASK_COMPLETE seen by a subscriber.

Starts its own redis-server, a fresh PostgreSQL database (made on the server
named by KAI_BENCH_DATABASE_URL, or else KAI_TEST_DATABASE_URL; dropped at the
end), one `kai serve` and one then two `kai worker`s, and measures:

- the raw round trip of one Redis stream message (XADD -> XREADGROUP -> XACK),
  the floor of any acknowledged queue on this machine;
- latency: `enqueueTask` over HTTP until its TASK_COMPLETE arrives on an
  `agentEvents` WebSocket subscription, one task at a time (p50, p99);
- throughput: a burst of tasks, from the first enqueue to the last
  TASK_COMPLETE seen, with 1 and with 2 workers.

    KAI_BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \\
        uv run python bench/tasks.py [--samples 200] [--burst 400] [--concurrency 8]

redis-server comes from KAI_TEST_REDIS_SERVER or the PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "x" * 40
REGISTER = """
mutation($input: RegisterInput!) { register(input: $input) { accessToken } }
"""
CREATE = 'mutation { createAgent(input: {name: "bench", type: "echo"}) { id } }'
ENQUEUE = """
mutation($agentId: ID!) { enqueueTask(agentId: $agentId, input: {type: "echo"}) { id } }
"""
EVENTS = "subscription($agentId: ID!) { agentEvents(agentId: $agentId) { type data } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    binary = os.environ.get("KAI_TEST_REDIS_SERVER") or shutil.which("redis-server")
    if not binary:
        raise SystemExit("bench: no redis-server (set KAI_TEST_REDIS_SERVER)")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 (the redis-server binary the caller named)
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise SystemExit("bench: redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


@asynccontextmanager
async def database() -> AsyncIterator[str]:
    admin = os.environ.get("KAI_BENCH_DATABASE_URL") or os.environ.get("KAI_TEST_DATABASE_URL")
    if not admin:
        raise SystemExit("bench: set KAI_BENCH_DATABASE_URL to a PostgreSQL server (asyncpg URL)")
    name = f"kai_bench_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


class Processes:
    """`kai` processes, their output in files under `directory`; all stopped at the end."""

    def __init__(self, env: dict[str, str], directory: Path):
        self.env = env
        self.directory = directory
        self.running: list[asyncio.subprocess.Process] = []
        self.logs = contextlib.ExitStack()

    async def run(self, *args: str) -> None:
        process = await self.spawn(*args)
        if await process.wait():
            raise SystemExit(f"bench: `kai {' '.join(args)}` failed")

    async def start(self, *args: str, ready: Callable[[Path], Awaitable[bool]], **env: str) -> None:
        process = await self.spawn(*args, **env)
        log = self.directory / f"{len(self.running) - 1}.log"
        deadline = time.monotonic() + 60
        while not await ready(log):
            if process.returncode is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"bench: `kai {' '.join(args)}` did not start (see {self.directory})"
                )
            await asyncio.sleep(0.05)

    async def spawn(self, *args: str, **env: str) -> asyncio.subprocess.Process:
        log = self.logs.enter_context((self.directory / f"{len(self.running)}.log").open("wb"))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kai.cli",
            *args,
            env=self.env | env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
        self.running.append(process)
        return process

    async def stop_all(self) -> None:
        for process in self.running:
            if process.returncode is None:
                process.terminate()
        for process in self.running:
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        self.logs.close()


async def raw_round_trips(redis_url: str, samples: int) -> list[float]:
    """XADD -> XREADGROUP -> XACK of one message at a time, as a worker would see it."""
    stream, group = "bench:raw", "bench"
    async with Redis.from_url(redis_url) as redis:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
        timings = []
        for _ in range(samples):
            began = time.perf_counter()
            await redis.xadd(stream, {b"data": b"x" * 300}, maxlen=10_000)
            fetched: Any = await redis.xreadgroup(group, "c", {stream: ">"}, count=1, block=1000)
            await redis.xack(stream, group, fetched[0][1][0][0])
            timings.append(time.perf_counter() - began)
        await redis.delete(stream)
    return timings


async def logged_ready(log: Path) -> bool:
    return "ready:" in log.read_text(errors="replace")  # noqa: ASYNC240 (a small file)


class Subscriber:
    """agentEvents over graphql-transport-ws; notes when each task's TASK_COMPLETE arrives."""

    def __init__(self, socket: ClientConnection):
        self.socket = socket
        self.completed: dict[str, float] = {}
        self.changed = asyncio.Event()

    async def run(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if message.get("type") != "next":
                continue
            event = message["payload"]["data"]["agentEvents"]
            if event["type"] == "TASK_COMPLETE":
                self.completed[event["data"]["taskId"]] = time.perf_counter()
                self.changed.set()

    async def until(self, task_ids: list[str]) -> None:
        async with asyncio.timeout(120):
            while True:
                self.changed.clear()
                if all(task_id in self.completed for task_id in task_ids):
                    return
                await self.changed.wait()


@asynccontextmanager
async def subscribed(url: str, token: str, agent_id: str) -> AsyncIterator[Subscriber]:
    ws = url.replace("http://", "ws://") + "/graphql"
    async with connect(ws, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": EVENTS, "variables": {"agentId": agent_id}},
                }
            )
        )
        subscriber = Subscriber(socket)
        reading = asyncio.create_task(subscriber.run())
        await asyncio.sleep(0.5)  # the subscription is live before the first task
        try:
            yield subscriber
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading


class Client:
    def __init__(self, http: httpx.AsyncClient):
        self.http = http
        self.token = ""

    async def call(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {self.token}"} if self.token else {},
        )
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body["data"]


async def latencies(client: Client, events: Subscriber, agent_id: str, samples: int) -> list[float]:
    timings = []
    for _ in range(samples):
        began = time.perf_counter()
        task_id = (await client.call(ENQUEUE, {"agentId": agent_id}))["enqueueTask"]["id"]
        await events.until([task_id])
        timings.append(events.completed[task_id] - began)
    return timings


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy, all cores (Linux; 0 elsewhere)."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return 0.0
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Burst:
    def __init__(
        self, tasks: int, seconds: float, server_cpu: float, workers_cpu: float, busy: float
    ):
        self.rate = tasks / seconds
        self.server_ms = server_cpu / tasks * 1000
        self.workers_ms = workers_cpu / tasks * 1000
        self.cores_busy = busy / seconds


async def throughput(
    client: Client, events: Subscriber, agent_id: str, burst: int, processes: Processes
) -> Burst:
    gate = asyncio.Semaphore(32)

    async def enqueue() -> str:
        async with gate:
            return str((await client.call(ENQUEUE, {"agentId": agent_id}))["enqueueTask"]["id"])

    # running: kai migrate (done), kai serve, the workers
    server, *workers = [process.pid for process in processes.running[1:]]
    cpu_before = [cpu_seconds(pid) for pid in (server, *workers)]
    busy_before = machine_busy_seconds()
    began = time.perf_counter()
    task_ids = await asyncio.gather(*(enqueue() for _ in range(burst)))
    await events.until(task_ids)
    seconds = max(events.completed[task_id] for task_id in task_ids) - began
    cpu = [
        cpu_seconds(pid) - before
        for pid, before in zip((server, *workers), cpu_before, strict=True)
    ]
    return Burst(burst, seconds, cpu[0], sum(cpu[1:]), machine_busy_seconds() - busy_before)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=200, help="latency samples per setup")
    parser.add_argument("--burst", type=int, default=400, help="tasks per throughput run")
    parser.add_argument("--concurrency", type=int, default=8, help="per worker")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch, redis_server(Path(scratch)) as redis_url:
        async with database() as database_url:
            env = {k: v for k, v in os.environ.items() if not k.startswith("KAI_")} | {
                "KAI_DATABASE_URL": database_url,
                "KAI_REDIS_URL": redis_url,
                "KAI_BROADCAST_URL": redis_url,
                "KAI_JWT_SECRET": SECRET,
                "KAI_DATA_DIR": str(Path(scratch) / "data"),
                "KAI_LOG_LEVEL": "WARNING",
                # One user enqueues hundreds of tasks a second: no per-minute budgets.
                "KAI_RATE_LIMIT_QUERY_PER_MINUTE": "0",
                "KAI_RATE_LIMIT_MUTATION_PER_MINUTE": "0",
                "KAI_RATE_LIMIT_SUBSCRIBE_PER_MINUTE": "0",
            }
            processes = Processes(env, Path(scratch))
            try:
                await run(args, processes, redis_url)
            finally:
                await processes.stop_all()


async def run(args: argparse.Namespace, processes: Processes, redis_url: str) -> None:
    await processes.run("migrate")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    worker = ("worker", "--concurrency", str(args.concurrency))
    rows = []
    raw = await raw_round_trips(redis_url, 2000)
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:

        async def healthy(_: Path) -> bool:
            with contextlib.suppress(httpx.TransportError):
                return (await http.get("/healthz")).status_code == 200
            return False

        await processes.start("serve", "--port", str(port), ready=healthy)
        client = Client(http)
        email = "bench@example.com"
        registered = await client.call(
            REGISTER, {"input": {"email": email, "password": "correct horse battery staple"}}
        )
        client.token = registered["register"]["accessToken"]
        agent_id = (await client.call(CREATE))["createAgent"]["id"]
        async with subscribed(url, client.token, agent_id) as events:
            for workers in (1, 2):
                # INFO for its "ready" line (and one line per task message: cheap).
                await processes.start(*worker, ready=logged_ready, KAI_LOG_LEVEL="INFO")
                await latencies(client, events, agent_id, 20)  # warm-up
                timings = await latencies(client, events, agent_id, args.samples)
                burst = await throughput(client, events, agent_id, args.burst, processes)
                rows.append((workers, timings, burst))

    raw_p50, raw_p99 = percentile(raw, 50), percentile(raw, 99)
    print(f"machine: {os.cpu_count()} CPUs; Redis stream round trip (XADD -> XREADGROUP -> XACK)")
    print(f"  p50 {raw_p50 * 1000:.3f} ms, p99 {raw_p99 * 1000:.3f} ms ({len(raw)} messages)")
    print(f"enqueueTask -> TASK_COMPLETE on agentEvents ({args.samples} tasks one at a time),")
    print(f"and a burst of {args.burst} tasks; --concurrency {args.concurrency} per worker:")
    print("  workers | p50 ms | p99 ms | p50 / raw p50 | p99 / raw p99 | burst tasks/s")
    for workers, timings, burst in rows:
        p50, p99 = percentile(timings, 50), percentile(timings, 99)
        print(
            f"  {workers:7d} | {p50 * 1000:6.1f} | {p99 * 1000:6.1f} | "
            f"{p50 / raw_p50:13.0f} | {p99 / raw_p99:13.0f} | {burst.rate:13.0f}"
        )
    print(f"  (mean latency {statistics.mean(rows[0][1]) * 1000:.1f} ms with 1 worker)")
    print("CPU per task during the bursts (PostgreSQL and Redis not counted):")
    for workers, _, burst in rows:
        print(
            f"  {workers} worker(s): server {burst.server_ms:.1f} ms, workers "
            f"{burst.workers_ms:.1f} ms; machine busy {burst.cores_busy:.2f} of "
            f"{os.cpu_count()} cores"
        )


if __name__ == "__main__":
    asyncio.run(main())
