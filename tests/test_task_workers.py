"""Background tasks on Redis: real `kai serve` and `kai worker` processes, PostgreSQL, redis-server.

The handler (tests/support/task_runtime.py, loaded with KAI_RUNTIMES_EXTRA) writes a
line to a file when a task starts and when it completes, from whichever worker
process runs it, so the tests count executions, not just final states.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from kai.config import Settings
from tests.support.agents import create_echo, signed_in
from tests.support.databases import postgres_database
from tests.support.graphql_client import GraphQLClient
from tests.support.redis_server import RedisProcess, redis_process
from tests.support.servers import ROOT, clean_env, kai_serve
from tests.support.settings import TEST_SECRET
from tests.support.task_runtime import LOG_ENV, traces
from tests.support.ws_client import ws_connect

ENQUEUE = """
mutation Enqueue($agentId: ID!, $input: TaskInput!) {
  enqueueTask(agentId: $agentId, input: $input) { id state }
}
"""
TASK = "query Task($id: ID!) { task(id: $id) { id state attempts error progress } }"
CANCEL = "mutation Cancel($id: ID!) { cancelTask(id: $id) { id state error } }"
TASKS = """
query Tasks($id: ID!) {
  agent(id: $id) { tasks(first: 500) { edges { node { id state attempts } } } }
}
"""
STREAM = "kai:tasks"
GROUP = "kai-workers"
WAIT = 30.0


@dataclass
class Process:
    """A `kai` process whose output is read as it comes (a full pipe would stall it)."""

    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def logged(self, text: str) -> bool:
        return any(text in line for line in list(self.output))

    def drain(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None

        def read() -> None:
            for line in stdout:
                self.output.append(line)

        threading.Thread(target=read, daemon=True).start()


class Cluster:
    """One `kai serve`, any number of `kai worker`s, one database, one Redis."""

    def __init__(self, env: dict[str, str], trace: Path, redis: RedisProcess):
        self.env = env
        self.trace = trace
        self.redis = redis
        self.workers: list[Process] = []
        self.servers: list[Process] = []

    @contextmanager
    def serve(self) -> Iterator[str]:
        with kai_serve(self.env, read_output=True) as (url, process):
            server = Process(process)
            self.servers.append(server)
            server.drain()
            yield url

    def logged(self, text: str) -> bool:
        return any(process.logged(text) for process in [*self.servers, *self.workers])

    def worker(self, *args: str) -> Process:
        worker = Process(
            subprocess.Popen(
                [sys.executable, "-m", "kai.cli", "worker", *args],
                env=self.env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
        self.workers.append(worker)
        worker.drain()
        deadline = time.monotonic() + WAIT
        while not worker.logged("ready:"):
            if worker.process.poll() is not None or time.monotonic() > deadline:
                worker.process.kill()
                raise RuntimeError("kai worker did not start:\n" + "".join(worker.output))
            time.sleep(0.05)
        return worker

    def stop_all(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.kill()
            worker.process.wait(timeout=10)

    def done(self, mark: str) -> list[int]:
        return [pid for what, m, pid in traces(self.trace) if what == "done" and m == mark]

    def started(self, mark: str) -> list[int]:
        return [pid for what, m, pid in traces(self.trace) if what == "start" and m == mark]


@pytest.fixture
async def database_url(postgres_template: str | None) -> AsyncIterator[str]:
    async with postgres_database(template=postgres_template) as url:
        yield url


@pytest.fixture
def cluster(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    directory = tmp_path / "redis"
    directory.mkdir()
    trace = tmp_path / "trace.log"
    with redis_process(directory) as redis:
        env = clean_env(
            KAI_DATABASE_URL=database_url,
            KAI_REDIS_URL=redis.url,
            KAI_BROADCAST_URL=redis.url,
            KAI_JWT_SECRET=TEST_SECRET,
            KAI_DATA_DIR=str(tmp_path / "data"),
            KAI_RUNTIMES_EXTRA="tests.support.task_runtime:CountingRuntime",
            KAI_TASK_LEASE_SECONDS="2",
            KAI_TASK_HEARTBEAT_SECONDS="0.3",
            KAI_TASK_SWEEP_SECONDS="0.3",
            KAI_TASK_BACKOFF_SECONDS="0.1",
            KAI_TASK_REDELIVER_SECONDS="2",
            KAI_LOG_LEVEL="INFO",
            **{LOG_ENV: str(trace)},
        )
        cluster = Cluster(env, trace, redis)
        try:
            yield cluster
        finally:
            cluster.stop_all()


@dataclass
class Api:
    client: GraphQLClient
    token: str
    agent_id: str

    async def enqueue(self, mark: str, seconds: float = 0, **input: Any) -> str:
        payload = {"mark": mark, "seconds": seconds, "steps": max(1, int(seconds * 4))}
        result = await self.client.execute(
            ENQUEUE,
            {"agentId": self.agent_id, "input": {"type": "count", "payload": payload, **input}},
            token=self.token,
        )
        return str(result.ok()["enqueueTask"]["id"])

    async def task(self, task_id: str) -> dict[str, Any]:
        result = await self.client.execute(TASK, {"id": task_id}, token=self.token)
        return result.ok()["task"]  # type: ignore[no-any-return]

    async def tasks(self) -> list[dict[str, Any]]:
        result = await self.client.execute(TASKS, {"id": self.agent_id}, token=self.token)
        return [edge["node"] for edge in result.ok()["agent"]["tasks"]["edges"]]

    async def until_state(self, task_id: str, state: str, within: float = WAIT) -> dict[str, Any]:
        async def reached() -> dict[str, Any] | None:
            task = await self.task(task_id)
            return task if task["state"] == state else None

        task: dict[str, Any] = await until(reached, within, f"task {task_id} never became {state}")
        return task


@asynccontextmanager
async def api(url: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
        client = GraphQLClient(http)
        token = await signed_in(client)
        agent = await create_echo(client, token, name="counter-1", type="counter")
        yield Api(client, token, str(agent["id"]))


async def until(check: Callable[[], Awaitable[Any]], within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(what)
        await asyncio.sleep(0.05)


async def unacknowledged(redis_url: str) -> int:
    async with Redis.from_url(redis_url) as redis:
        summary = await redis.xpending(STREAM, GROUP)
    return int(summary["pending"])


@pytest.mark.slow
async def test_a_task_whose_worker_is_killed_mid_run_completes_exactly_once_on_another(
    cluster: Cluster,
) -> None:
    with cluster.serve() as url:
        async with api(url) as kai:
            first = cluster.worker("--concurrency", "1")
            task_id = await kai.enqueue("k", seconds=2, retries=2)
            await until(lambda: _started(cluster, "k"), WAIT, "the task never started")

            first.process.send_signal(signal.SIGKILL)
            first.process.wait(timeout=10)
            assert await unacknowledged(cluster.redis.url) == 1  # its message is still out
            second = cluster.worker("--concurrency", "1")

            task = await kai.until_state(task_id, "COMPLETED")
            # The dead worker's message is reclaimed (and acknowledged) by the new one.
            await until(
                lambda: _none_unacknowledged(cluster.redis.url), 10, "a message stayed unacked"
            )

    assert cluster.started("k") == [first.pid, second.pid]
    assert cluster.done("k") == [second.pid]
    assert task["attempts"] == 2
    assert second.logged("redelivering unacknowledged task message")


@pytest.mark.slow
async def test_tasks_queued_and_running_through_a_redis_restart_all_finish(
    cluster: Cluster,
) -> None:
    with cluster.serve() as url:
        async with api(url) as kai:
            workers = [cluster.worker("--concurrency", "2") for _ in range(2)]
            marks = [f"r{i}" for i in range(12)]
            ids = [await kai.enqueue(mark, seconds=1) for mark in marks]
            await until(
                lambda: _count_started(cluster, marks, 2), WAIT, "no task started before restart"
            )

            # Down without persistence: every queued message is gone with it.
            cluster.redis.kill()
            refused = await kai.client.execute(
                ENQUEUE,
                {"agentId": kai.agent_id, "input": {"type": "count", "payload": {"mark": "no"}}},
                token=kai.token,
            )
            await asyncio.sleep(1.5)  # running tasks end meanwhile; workers read and fail
            cluster.redis.start()
            after = await _enqueue_when_accepted(kai, "after")

            for task_id in [*ids, after]:
                await kai.until_state(task_id, "COMPLETED")
            tasks = await kai.tasks()

    assert refused.codes == ["SERVICE_UNAVAILABLE"], refused.body
    # ... and the refused task is not left to run later behind the client's back.
    assert sorted(task["state"] for task in tasks) == ["COMPLETED"] * 13 + ["FAILED"]
    assert cluster.started("no") == []
    for mark in [*marks, "after"]:
        assert len(cluster.done(mark)) == 1, (mark, traces(cluster.trace))
        assert len(cluster.started(mark)) == 1, (mark, traces(cluster.trace))
    for worker in workers:
        assert worker.logged("task broker connection lost"), "".join(worker.output)
        assert worker.logged("task broker reconnected"), "".join(worker.output)
    assert cluster.logged("task wake-ups that Redis lost")


@pytest.mark.slow
async def test_200_tasks_over_two_workers_all_complete_and_none_runs_twice(
    cluster: Cluster,
) -> None:
    with cluster.serve() as url:
        async with api(url) as kai:
            workers = [cluster.worker("--concurrency", "4") for _ in range(2)]
            marks = [f"m{i}" for i in range(200)]
            gate = asyncio.Semaphore(16)

            async def enqueue(mark: str) -> str:
                async with gate:
                    return await kai.enqueue(mark)

            ids = await asyncio.gather(*(enqueue(mark) for mark in marks))

            async def all_completed() -> bool:
                return all(task["state"] == "COMPLETED" for task in await kai.tasks())

            await until(all_completed, 60, "not every task completed")
            tasks = await kai.tasks()

    assert sorted(task["id"] for task in tasks) == sorted(ids)
    assert all(task["attempts"] == 1 for task in tasks)
    runs = traces(cluster.trace)
    assert sorted(mark for what, mark, _ in runs if what == "start") == sorted(marks)
    assert sorted(mark for what, mark, _ in runs if what == "done") == sorted(marks)
    # Both workers took a share.
    assert {pid for _, _, pid in runs} == {worker.pid for worker in workers}


@pytest.mark.slow
async def test_cancelling_a_task_running_in_a_worker_process_ends_it_within_2_seconds(
    cluster: Cluster,
) -> None:
    with cluster.serve() as url:
        async with api(url) as kai:
            cluster.worker("--concurrency", "1")
            task_id = await kai.enqueue("c", seconds=30)
            await until(lambda: _started(cluster, "c"), WAIT, "the task never started")

            asked = time.monotonic()
            answer = await kai.client.execute(CANCEL, {"id": task_id}, token=kai.token)
            await kai.until_state(task_id, "CANCELLED", within=2)
            took = time.monotonic() - asked

    assert answer.ok()["cancelTask"]["state"] == "CANCELLED"
    assert took < 2, took
    assert cluster.done("c") == []


@pytest.mark.slow
async def test_with_one_busy_worker_the_higher_priority_task_runs_first(
    cluster: Cluster,
) -> None:
    with cluster.serve() as url:
        async with api(url) as kai:
            cluster.worker("--concurrency", "1")
            busy = await kai.enqueue("busy", seconds=1)
            await until(lambda: _started(cluster, "busy"), WAIT, "the first task never started")
            low = [await kai.enqueue(f"low{i}", priority=-1) for i in range(2)]
            high = await kai.enqueue("high", priority=10)

            for task_id in [busy, *low, high]:
                await kai.until_state(task_id, "COMPLETED")

    order = [mark for what, mark, _ in traces(cluster.trace) if what == "start"]
    assert order == ["busy", "high", "low0", "low1"]


@pytest.mark.slow
async def test_a_stopped_worker_finishes_short_tasks_and_hands_long_ones_back(
    cluster: Cluster,
) -> None:
    with cluster.serve() as url:
        async with api(url) as kai:
            first = cluster.worker("--concurrency", "2", "--grace-seconds", "1")
            short = await kai.enqueue("short", seconds=0.5)
            long = await kai.enqueue("long", seconds=3)
            await until(
                lambda: _count_started(cluster, ["short", "long"], 2), WAIT, "tasks never started"
            )

            first.process.send_signal(signal.SIGTERM)
            first.process.wait(timeout=10)
            handed_back = await kai.task(long)
            second = cluster.worker("--concurrency", "1")
            finished = await kai.until_state(long, "COMPLETED")
            assert (await kai.task(short))["state"] == "COMPLETED"

    assert first.process.returncode == 0, "".join(first.output)
    assert cluster.done("short") == [first.pid]
    assert handed_back["state"] == "PENDING"
    assert handed_back["attempts"] == 0  # handing back does not use up an attempt
    assert cluster.started("long") == [first.pid, second.pid]
    assert cluster.done("long") == [second.pid]
    assert finished["attempts"] == 1


async def _started(cluster: Cluster, mark: str) -> bool:
    return bool(cluster.started(mark))


async def _count_started(cluster: Cluster, marks: list[str], count: int) -> bool:
    return sum(1 for mark in marks if cluster.started(mark)) >= count


async def _none_unacknowledged(redis_url: str) -> bool:
    return await unacknowledged(redis_url) == 0


async def _enqueue_when_accepted(kai: Api, mark: str) -> str:
    """Enqueue as soon as the server's broker connection is back (until then: 503)."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            return await kai.enqueue(mark)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


@pytest.mark.slow
def test_kai_worker_refuses_to_start_without_redis(tmp_path: Path) -> None:
    env = clean_env(
        KAI_DATA_DIR=str(tmp_path), KAI_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/k.db"
    )
    result = subprocess.run(
        [sys.executable, "-m", "kai.cli", "worker"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "KAI_REDIS_URL" in result.stderr


def test_task_workers_share_events_through_redis_unless_told_otherwise() -> None:
    assert Settings(_env_file=None, redis_url="redis://r:6379").broadcast_url == "redis://r:6379"
    with pytest.raises(ValueError, match="KAI_BROADCAST_URL"):
        Settings(_env_file=None, redis_url="redis://r:6379", broadcast_url="memory://")


UPDATES = "subscription Updates($id: ID!) { taskUpdates(taskId: $id) { state progress } }"


@pytest.mark.slow
async def test_progress_of_a_task_in_a_worker_is_watched_live_on_a_server(
    cluster: Cluster,
) -> None:
    with cluster.serve() as url:
        async with api(url) as kai:
            cluster.worker("--concurrency", "1")
            # Not due until the subscription is in place, so every change is seen live.
            task_id = await kai.enqueue("watched", seconds=1, delaySeconds=1)
            async with ws_connect(url, "graphql-transport-ws", token=kai.token) as ws:
                op = await ws.subscribe(UPDATES, {"id": task_id})
                messages = await ws.until_complete(op, timeout=WAIT)

    updates = [m.payload["data"]["taskUpdates"] for m in messages if m.type == "next"]
    assert updates[0]["state"] == "PENDING"
    assert updates[-1] == {"state": "COMPLETED", "progress": 1.0}
    # The worker's progress reports reached this server's subscriber as they happened.
    assert any(u["state"] == "RUNNING" and 0 < (u["progress"] or 0) < 1 for u in updates)
    assert messages[-1].type == "complete"
