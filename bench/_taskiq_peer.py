"""bench/tasks.py's peer baseline: bare taskiq on the broker class kAI's tasks use.

taskiq-redis's RedisStreamBroker (kAI's KaiStreamBroker subclasses it) with its own
defaults and taskiq-redis's RedisAsyncResultBackend; one trivial task (no database:
it returns its argument), run by `taskiq worker` with one worker process. The bench
kicks tasks from its own process and waits for each result, as a taskiq user would:
latency one task at a time, and throughput of a burst. What kAI adds on top of this
(a stored row per task, its claim and completion, the events a subscriber sees, an
authenticated and audited mutation over HTTP) is what the ratio measures.

The worker imports `make_broker` from here (`taskiq worker` calls a factory function);
the Redis URL reaches it in BENCH_TASKIQ_REDIS_URL.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from taskiq import AsyncBroker, AsyncTaskiqTask
from taskiq.kicker import AsyncKicker
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from bench._support import Process, clean_env, cpu_seconds, machine_busy_seconds

TASK = "bench.bare"
URL_VARIABLE = "BENCH_TASKIQ_REDIS_URL"
# How often the bench asks the result backend whether a task is done (taskiq's default
# is 0.2 s, which would measure the polling): a poll is one Redis round trip.
POLL_SECONDS = 0.0005


async def bare(n: int) -> int:
    return n


def make_broker(url: str | None = None) -> AsyncBroker:
    """The broker (and result backend) of the bare tasks, on their own stream."""
    url = url or os.environ[URL_VARIABLE]
    broker = RedisStreamBroker(
        url,
        queue_name="bench:taskiq",
        consumer_group_name="bench-taskiq",
        consumer_id="0",  # messages kicked before the worker's group existed count
    ).with_result_backend(RedisAsyncResultBackend(url, result_ex_time=600))
    broker.register_task(bare, task_name=TASK)
    return broker


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its descendants (`taskiq worker` forks its workers)."""
    total = cpu_seconds(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += tree_cpu_seconds(int(child))
    return total


@dataclass
class PeerRun:
    timings: list[float]
    rate: float  # burst tasks/s
    worker_ms: float  # the worker's CPU per task during the burst
    cores_busy: float


@asynccontextmanager
async def peer_worker(
    redis_url: str, concurrency: int, log: Path
) -> AsyncIterator[tuple[AsyncBroker, Process]]:
    """`taskiq worker` with one worker process, up once it listens; the bench's broker."""
    argv = [sys.executable, "-m", "taskiq", "worker", "bench._taskiq_peer:make_broker"]
    argv += ["--workers", "1", "--max-async-tasks", str(concurrency)]
    process = Process(argv, clean_env() | {URL_VARIABLE: redis_url}, log)
    broker = make_broker(redis_url)
    try:
        await broker.startup()

        async def listening() -> bool:
            return process.logged("Listening started")

        await process.until(listening)
        yield broker, process
    finally:
        await broker.shutdown()
        await asyncio.to_thread(process.stop)


async def _result(task: AsyncTaskiqTask[int]) -> float:
    """When the task's result was seen."""
    result = await task.wait_result(check_interval=POLL_SECONDS, timeout=120)
    if result.is_err:
        raise RuntimeError(f"bare taskiq task failed: {result.error!r}")
    return time.perf_counter()


async def peer_latencies(broker: AsyncBroker, samples: int) -> list[float]:
    kicker: AsyncKicker[[int], int] = AsyncKicker(TASK, broker, labels={})
    timings = []
    for n in range(samples):
        began = time.perf_counter()
        timings.append(await _result(await kicker.kiq(n)) - began)
    return timings


async def peer_burst(
    broker: AsyncBroker, process: Process, burst: int
) -> tuple[float, float, float]:
    """(tasks/s, worker CPU ms per task, cores busy) of `burst` tasks kicked at once."""
    kicker: AsyncKicker[[int], int] = AsyncKicker(TASK, broker, labels={})
    gate = asyncio.Semaphore(32)  # as many kicks in flight as kAI's burst has enqueues

    async def kick(n: int) -> AsyncTaskiqTask[int]:
        async with gate:
            return await kicker.kiq(n)

    cpu_before, busy_before = tree_cpu_seconds(process.pid), machine_busy_seconds()
    began = time.perf_counter()
    tasks = await asyncio.gather(*(kick(n) for n in range(burst)))
    seconds = max([await _result(task) for task in tasks]) - began
    cpu = tree_cpu_seconds(process.pid) - cpu_before
    return burst / seconds, cpu / burst * 1000, (machine_busy_seconds() - busy_before) / seconds


async def measure_peer(
    redis_url: str, *, concurrency: int, warmup: int, samples: int, burst: int, log: Path
) -> PeerRun:
    async with peer_worker(redis_url, concurrency, log) as (broker, process):
        await peer_latencies(broker, warmup)
        timings = await peer_latencies(broker, samples)
        rate, worker_ms, busy = await peer_burst(broker, process, burst)
    return PeerRun(timings, rate, worker_ms, busy)
