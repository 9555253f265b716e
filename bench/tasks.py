"""Background tasks on Redis, end to end: enqueue -> TASK_COMPLETE seen by a subscriber.

Starts its own redis-server, a fresh PostgreSQL database (made on the server
named by KAI_BENCH_DATABASE_URL, or else KAI_TEST_DATABASE_URL; dropped at the
end), one `kai serve` and one then two `kai worker`s, and measures:

- the raw round trip of one Redis stream message (XADD -> XREADGROUP -> XACK),
  the floor of any acknowledged queue on this machine;
- latency: `enqueueTask` over HTTP until its TASK_COMPLETE arrives on an
  `agentEvents` WebSocket subscription, one task at a time (p50, p99);
- throughput: a burst of tasks, from the first enqueue to the last
  TASK_COMPLETE seen, with 1 and with 2 workers;
- the peer baseline, in the same run and on the same redis-server: bare taskiq on
  RedisStreamBroker (the class kAI's broker subclasses), a trivial task with no
  database kicked and awaited for its result, with one worker process
  (bench/_taskiq_peer.py); printed beside kAI's figures as ratios.

The bench's one user has no per-minute budgets and no share of running tasks (the
default share, 2 at once, would make a burst measure how often the sweep hands out
wake-ups rather than what a task costs).

    KAI_BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \\
        uv run python bench/tasks.py [--samples 200] [--burst 400] [--concurrency 8]
    uv run python bench/tasks.py --quick   # 5 tasks and a burst of 10: what CI runs

redis-server comes from KAI_TEST_REDIS_SERVER or the PATH.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/tasks.py`, bench/ would be first on sys.path: the checkout instead
# (bench/http.py is named like the standard library's `http`; the benches import `bench.*`).
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

from bench._seed import Api
from bench._support import (
    Column,
    Process,
    Table,
    clean_env,
    cpu_seconds,
    exit_on_sigterm,
    fail,
    free_port,
    kai,
    kai_env,
    machine_busy_seconds,
    parse,
    parser,
    percentile,
    postgres_admin_url,
    postgres_database,
    progress,
    require_proc,
)
from bench._taskiq_peer import PeerRun, measure_peer

ENQUEUE = """
mutation($agentId: ID!) { enqueueTask(agentId: $agentId, input: {type: "echo"}) { id } }
"""
EVENTS = "subscription($agentId: ID!) { agentEvents(agentId: $agentId) { type data } }"
QUICK = {"samples": 5, "burst": 10, "warmup": 2, "raw": 100}


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A redis-server of the bench's own (KAI_TEST_REDIS_SERVER, or the PATH's); its URL."""
    binary = os.environ.get("KAI_TEST_REDIS_SERVER") or shutil.which("redis-server")
    if not binary:
        fail("no redis-server (set KAI_TEST_REDIS_SERVER)")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = Process(argv, clean_env(), directory / "redis.log")
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            process.starting(deadline)
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.popen.kill()
        process.popen.wait()


class Processes:
    """`kai` processes, their output in numbered files under `directory`; all stopped at the end."""

    def __init__(self, env: dict[str, str], directory: Path):
        self.env = env
        self.directory = directory
        self.running: list[Process] = []

    def start(self, *args: str, **env: str) -> Process:
        log = self.directory / f"{len(self.running)}.log"
        process = Process(kai(*args), self.env | env, log)
        self.running.append(process)
        return process

    async def run(self, *args: str) -> None:
        if await asyncio.to_thread(self.start(*args).popen.wait):
            fail(f"`kai {' '.join(args)}` failed (see {self.directory})")

    async def stop_all(self) -> None:
        await asyncio.gather(*(asyncio.to_thread(process.stop) for process in self.running))


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


async def latencies(client: Api, events: Subscriber, agent_id: str, samples: int) -> list[float]:
    timings = []
    for _ in range(samples):
        began = time.perf_counter()
        task_id = (await client.call(ENQUEUE, {"agentId": agent_id}))["enqueueTask"]["id"]
        await events.until([task_id])
        timings.append(events.completed[task_id] - began)
    return timings


class Burst:
    def __init__(
        self, tasks: int, seconds: float, server_cpu: float, workers_cpu: float, busy: float
    ):
        self.rate = tasks / seconds
        self.server_ms = server_cpu / tasks * 1000
        self.workers_ms = workers_cpu / tasks * 1000
        self.cores_busy = busy / seconds


async def throughput(
    client: Api, events: Subscriber, agent_id: str, burst: int, processes: Processes
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


def options() -> argparse.Namespace:
    made = parser(__doc__, "bench/tasks.py")
    made.add_argument("--samples", type=int, default=200, help="latency samples per setup")
    made.add_argument("--burst", type=int, default=400, help="tasks per throughput run")
    made.add_argument("--concurrency", type=int, default=8, help="per worker")
    made.add_argument("--warmup", type=int, default=20, help="tasks before the samples (20)")
    made.add_argument("--raw", type=int, default=2000, help="raw Redis round trips (2000)")
    args = parse(made, QUICK)
    if min(args.samples, args.burst, args.concurrency, args.raw) < 1 or args.warmup < 0:
        made.error("--samples, --burst, --concurrency and --raw must be at least 1")
    return args


async def main() -> None:
    args = options()
    require_proc()
    admin = postgres_admin_url()
    if not admin:
        fail("set KAI_BENCH_DATABASE_URL to a PostgreSQL server (asyncpg URL)")
    exit_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="kai-bench-tasks-") as name:
        scratch = Path(name)
        with redis_server(scratch) as redis_url:
            async with postgres_database(admin, "kai_bench") as database_url:
                env = kai_env(
                    scratch,
                    database_url=database_url,
                    KAI_REDIS_URL=redis_url,
                    KAI_BROADCAST_URL=redis_url,
                    # One user enqueues hundreds of tasks a second: no per-minute budgets,
                    # and no share of running tasks smaller than the workers' slots.
                    KAI_RATE_LIMIT_QUERY_PER_MINUTE="0",
                    KAI_RATE_LIMIT_MUTATION_PER_MINUTE="0",
                    KAI_RATE_LIMIT_SUBSCRIBE_PER_MINUTE="0",
                    KAI_QUOTA_RUNNING_TASKS_PER_USER="1000",
                    KAI_QUOTA_QUEUED_TASKS_PER_USER="100000",
                )
                processes = Processes(env, scratch)
                try:
                    await run(args, processes, redis_url)
                finally:
                    await processes.stop_all()


async def run(args: argparse.Namespace, processes: Processes, redis_url: str) -> None:
    progress("kai migrate")
    await processes.run("migrate")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    worker = ("worker", "--concurrency", str(args.concurrency))
    rows = []
    progress("raw Redis round trips")
    raw = await raw_round_trips(redis_url, args.raw)
    progress("bare taskiq, 1 worker process")
    peer = await measure_peer(
        redis_url,
        concurrency=args.concurrency,
        warmup=args.warmup,
        samples=args.samples,
        burst=args.burst,
        log=processes.directory / "taskiq.log",
    )
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        progress("kai serve")
        await processes.start("serve", "--port", str(port)).wait_healthy_async(url)
        client = Api(http)
        await client.register()
        agent_id = await client.echo_agent()
        async with subscribed(url, client.token, agent_id) as events:
            for workers in (1, 2):
                progress(f"{workers} worker(s)")
                # INFO for its "ready" line (and one line per task message: cheap).
                started = processes.start(*worker, KAI_LOG_LEVEL="INFO")

                async def ready(process: Process = started) -> bool:
                    return process.logged("ready:")

                await started.until(ready)
                await latencies(client, events, agent_id, args.warmup)
                progress(f"{workers} worker(s): latencies")
                timings = await latencies(client, events, agent_id, args.samples)
                progress(f"{workers} worker(s): a burst of {args.burst}")
                burst = await throughput(client, events, agent_id, args.burst, processes)
                rows.append((workers, timings, burst))
    report(args, raw, rows, peer)


TABLE = Table(
    Column("workers", "d"),
    Column("p50 ms", ".1f"),
    Column("p99 ms", ".1f"),
    Column("p50 / raw p50", ".0f"),
    Column("p50 / taskiq p50", ".1f"),
    Column("burst tasks/s", ".0f"),
    Column("tasks/s / taskiq's", ".2f"),
)
# Issue 17's targets: kAI's p50, and its throughput against bare taskiq's (1 worker each).
TARGET_P50_MS = 5.0
TARGET_RATIO = 0.5


def report(
    args: argparse.Namespace,
    raw: list[float],
    rows: list[tuple[int, list[float], Burst]],
    peer: PeerRun,
) -> None:
    raw_p50, raw_p99 = percentile(raw, 50), percentile(raw, 99)
    peer_p50 = percentile(peer.timings, 50)
    print(f"machine: {os.cpu_count()} CPUs; Redis stream round trip (XADD -> XREADGROUP -> XACK)")
    print(f"  p50 {raw_p50 * 1000:.3f} ms, p99 {raw_p99 * 1000:.3f} ms ({len(raw)} messages)")
    print(f"bare taskiq, RedisStreamBroker, 1 worker process: kiq -> result ({args.samples} tasks")
    print(f"one at a time), and a burst of {args.burst}; --max-async-tasks {args.concurrency}:")
    print(
        f"  p50 {peer_p50 * 1000:.2f} ms, p99 {percentile(peer.timings, 99) * 1000:.2f} ms; "
        f"burst {peer.rate:.0f} tasks/s, worker CPU {peer.worker_ms:.2f} ms per task"
    )
    print(f"enqueueTask -> TASK_COMPLETE on agentEvents ({args.samples} tasks one at a time),")
    print(f"and a burst of {args.burst} tasks; --concurrency {args.concurrency} per worker:")
    TABLE.header()
    for workers, timings, burst in rows:
        p50, p99 = percentile(timings, 50), percentile(timings, 99)
        ratio = burst.rate / peer.rate
        TABLE.row(workers, p50 * 1000, p99 * 1000, p50 / raw_p50, p50 / peer_p50, burst.rate, ratio)
    print(f"  (mean latency {statistics.mean(rows[0][1]) * 1000:.1f} ms with 1 worker)")
    print("CPU per task during the bursts (PostgreSQL and Redis not counted):")
    for workers, _, burst in rows:
        print(
            f"  {workers} worker(s): server {burst.server_ms:.1f} ms, workers "
            f"{burst.workers_ms:.1f} ms; machine busy {burst.cores_busy:.2f} of "
            f"{os.cpu_count()} cores"
        )
    print(f"  bare taskiq: worker {peer.worker_ms:.2f} ms; machine busy {peer.cores_busy:.2f}")
    _, timings, burst = rows[0]
    p50_ms, ratio = percentile(timings, 50) * 1000, burst.rate / peer.rate
    print(
        f"targets, 1 worker: p50 {p50_ms:.1f} ms (<= {TARGET_P50_MS:g}: "
        f"{'met' if p50_ms <= TARGET_P50_MS else 'missed'}); throughput {ratio:.2f} x bare "
        f"taskiq's (>= {TARGET_RATIO:g}: {'met' if ratio >= TARGET_RATIO else 'missed'})"
    )


if __name__ == "__main__":
    asyncio.run(main())
