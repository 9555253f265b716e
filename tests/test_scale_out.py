"""The scaled-out system on loopback: two `kai serve` replicas and two `kai worker`s on one
PostgreSQL database, one Redis, one S3 (moto) and one clamd.

A subscriber on replica A sees everything done through replica B (the agent's
creation, a command, tasks the workers run), in order with no gap; a file
uploaded through B downloads from A. Then A is killed outright under the
subscriber, more happens on B while it is dead, and the client resumes on B
with `after`: it gets exactly the events it missed, none twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.agents import COMMAND, create_echo, signed_in
from tests.support.databases import postgres_database
from tests.support.files import relative
from tests.support.graphql_client import GraphQLClient
from tests.support.processes import KaiProcess, Processes, processes
from tests.support.redis_server import RedisProcess
from tests.support.s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server
from tests.support.servers import clean_env
from tests.support.settings import TEST_SECRET
from tests.support.subscriptions import EVENTS_BRIEF
from tests.support.task_runtime import LOG_ENV
from tests.support.uploads import upload
from tests.support.ws_client import TRANSPORT_WS, SocketClosed, WSClient, ws_connect

pytestmark = pytest.mark.slow

ENQUEUE = """
mutation Enqueue($agentId: ID!, $input: TaskInput!) {
  enqueueTask(agentId: $agentId, input: $input) { id state }
}
"""
WAIT = 20.0


# --- the subscriber ---------------------------------------------------------------------------


class Subscriber:
    """Reads agentEvents on one socket in the background, keeping every event it got."""

    def __init__(self, events: list[dict[str, Any]]):
        self.events = events
        self.closed: SocketClosed | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def last_seq(self) -> int:
        return int(self.events[-1]["seq"]) if self.events else 0

    def start(self, socket: WSClient, op_id: str) -> None:
        self.closed = None
        self._task = asyncio.create_task(self._read(socket, op_id))

    async def _read(self, socket: WSClient, op_id: str) -> None:
        try:
            while True:
                self.events.append((await socket.next(op_id, timeout=3600))["agentEvents"])
        except SocketClosed as exc:
            self.closed = exc

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def until(self, count: int, within: float = WAIT) -> None:
        """Until `count` events have arrived; fails if the reader stopped first."""
        async with asyncio.timeout(within):
            while len(self.events) < count:
                if self._task is not None and self._task.done():
                    self._task.result()
                    raise AssertionError(f"the subscription ended: {self.closed}")
                await asyncio.sleep(0.01)

    async def until_seen(self, kind: str, task_id: str, within: float = WAIT) -> None:
        async with asyncio.timeout(within):
            while not any(
                e["type"] == kind and e["data"].get("taskId") == task_id for e in self.events
            ):
                if self._task is not None and self._task.done():
                    raise AssertionError(f"the subscription ended: {self.closed}")
                await asyncio.sleep(0.01)

    async def until_closed(self, within: float = WAIT) -> SocketClosed:
        assert self._task is not None
        async with asyncio.timeout(within):
            await self._task
        assert self.closed is not None
        return self.closed


# --- the system -------------------------------------------------------------------------------


@dataclass
class System:
    a: KaiProcess
    b: KaiProcess
    workers: list[KaiProcess]
    all: Processes


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with postgres_database() as url:  # empty: replica A migrates it on start
        yield url


@pytest.fixture
async def system(
    database_url: str,
    redis: RedisProcess,
    s3_server: S3Server,
    clamd_url: str,
    tmp_path: Path,
) -> AsyncIterator[System]:
    bucket = await s3_server.create_bucket()

    def env(name: str) -> dict[str, str]:
        return clean_env(
            KAI_DATABASE_URL=database_url,
            KAI_REDIS_URL=redis.url,
            KAI_BROADCAST_URL=redis.url,
            KAI_JWT_SECRET=TEST_SECRET,
            KAI_DATA_DIR=str(tmp_path / name),
            KAI_S3_BUCKET=bucket,
            KAI_S3_ENDPOINT_URL=s3_server.endpoint_url,
            KAI_S3_REGION=REGION,
            KAI_S3_PREFIX="files/",
            AWS_ACCESS_KEY_ID=ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
            KAI_CLAMD_URL=clamd_url,
            KAI_QDRANT_URL=":memory:",
            KAI_RUNTIMES_EXTRA="tests.support.task_runtime:CountingRuntime",
            KAI_TASK_SWEEP_SECONDS="0.5",
            KAI_LOG_LEVEL="INFO",
            **{LOG_ENV: str(tmp_path / "trace.log")},
        )

    with processes() as running:
        # A migrates the empty database (development mode); the others start once it has.
        a = running.serve("replica A", env("a"))
        try:
            await a.ready()
            b = running.serve("replica B", env("b"))
            workers = [running.worker(f"worker {i}", env(f"w{i}")) for i in (1, 2)]
            await asyncio.gather(*(kai.ready() for kai in [b, *workers]))
        except BaseException:
            print(running.logs())
            raise
        try:
            yield System(a, b, workers, running)
        finally:
            print(running.logs())  # shown with a failing test only


# --- the test ---------------------------------------------------------------------------------


@dataclass
class Api:
    """What a client does through one replica."""

    client: GraphQLClient
    token: str
    agent_id: str = ""

    async def command(self, name: str) -> None:
        result = await self.client.execute(
            COMMAND, {"agentId": self.agent_id, "command": {"command": name}}, token=self.token
        )
        assert result.ok()["sendCommand"]["success"] is True, result.body

    async def enqueue(self, mark: str, steps: int, seconds: float) -> str:
        payload = {"mark": mark, "steps": steps, "seconds": seconds}
        result = await self.client.execute(
            ENQUEUE,
            {"agentId": self.agent_id, "input": {"type": "count", "payload": payload}},
            token=self.token,
        )
        return str(result.ok()["enqueueTask"]["id"])


def expected_events(
    commands: list[str], tasks: dict[str, int], status_updates: int
) -> Counter[str]:
    """How many events of each kind the agent's story holds: a task of n steps is RUNNING
    (a TASK_PROGRESS), n progress reports, then its TASK_COMPLETE."""
    counts: Counter[str] = Counter(STATUS_UPDATE=status_updates, COMMAND_RESULT=len(commands))
    for steps in tasks.values():
        counts["TASK_PROGRESS"] += steps + 1
        counts["TASK_COMPLETE"] += 1
    return counts


def kinds(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(event["type"]) for event in events)


async def test_a_subscriber_on_replica_a_follows_replica_b_and_resumes_on_b_when_a_is_killed(
    system: System,
) -> None:
    a, b = system.a, system.b
    worker_pids = {worker.pid for worker in system.workers}
    commands: list[str] = []
    tasks: dict[str, int] = {}  # task id -> steps
    events: list[dict[str, Any]] = []
    subscriber = Subscriber(events)
    try:
        async with (
            httpx.AsyncClient(base_url=b.url, timeout=WAIT) as on_b,
            httpx.AsyncClient(base_url=a.url, timeout=WAIT) as on_a,
        ):
            api = Api(GraphQLClient(on_b), await signed_in(GraphQLClient(on_b)))
            api.agent_id = str(
                (await create_echo(api.client, api.token, name="counter", type="counter"))["id"]
            )

            # Caused on B, seen live on A: the creation (replayed), a command, four tasks
            # that the two workers share.
            async with ws_connect(a.url, TRANSPORT_WS, token=api.token) as socket:
                op_id = await socket.subscribe(EVENTS_BRIEF, {"agentId": api.agent_id, "after": 0})
                subscriber.start(socket, op_id)
                # Replayed: created, then started (createAgent answers once it runs).
                await subscriber.until(2)
                assert [(e["type"], e["data"]["to"]) for e in events[:2]] == [
                    ("STATUS_UPDATE", "STARTING"),
                    ("STATUS_UPDATE", "RUNNING"),
                ], events
                status_updates = 2
                commands.append("hello")
                await api.command("hello")
                for i in range(4):
                    tasks[await api.enqueue(f"t{i}", steps=3, seconds=0.3)] = 3
                for task_id in tasks:
                    await subscriber.until_seen("TASK_COMPLETE", task_id)

                # A file in through B: scanned by the shared clamd, kept in the shared
                # bucket, so A's signed link serves it.
                content = b"scaled out: one bucket, one scanner\n" * 100
                stored = (await upload(api.client, api.token, content, agent_id=api.agent_id)).ok()
                file = stored["uploadFile"]
                downloaded = await on_a.get(relative(file["url"]))

                # A dies mid-stream: two long tasks are running when it is killed.
                for i in range(2):
                    tasks[await api.enqueue(f"k{i}", steps=4, seconds=1.6)] = 4
                for task_id in list(tasks)[-2:]:
                    await subscriber.until_seen("TASK_PROGRESS", task_id)
                a.kill()
                closed = await subscriber.until_closed()
                seen_on_a = list(events)
                last_seq = subscriber.last_seq

            # While A is dead, B goes on: two more commands, and the tasks progress.
            for name in ("while-a-is-dead-1", "while-a-is-dead-2"):
                commands.append(name)
                await api.command(name)
            await asyncio.sleep(0.5)

            # The client reconnects to B and resumes after the last event it saw.
            total = sum(expected_events(commands, tasks, status_updates).values())
            async with ws_connect(b.url, TRANSPORT_WS, token=api.token) as socket:
                op_id = await socket.subscribe(
                    EVENTS_BRIEF, {"agentId": api.agent_id, "after": last_seq}
                )
                subscriber.start(socket, op_id)
                await subscriber.until(total)
                await asyncio.sleep(0.5)  # nothing beyond the story may follow
                await subscriber.stop()
            results = await task_results(api, list(tasks))
    finally:
        await subscriber.stop()

    seqs = [int(event["seq"]) for event in events]
    story = [(e["seq"], e["type"], e["data"].get("taskId"), e["data"].get("state")) for e in events]
    assert seqs == list(range(1, total + 1)), story  # in order, no gap, no duplicate
    assert [int(e["seq"]) for e in seen_on_a] == list(range(1, last_seq + 1))
    assert last_seq < total, "A delivered everything before it died: nothing was resumed"
    assert kinds(events) == expected_events(commands, tasks, status_updates)
    assert [e["data"]["command"] for e in events if e["type"] == "COMMAND_RESULT"] == commands
    completions = [e["data"] for e in events if e["type"] == "TASK_COMPLETE"]
    assert sorted(data["taskId"] for data in completions) == sorted(tasks)
    assert all(data["state"] == "COMPLETED" for data in completions), completions
    # Run by the workers, not by either replica.
    assert {result["pid"] for result in results} <= worker_pids, (results, worker_pids)

    assert closed.code != 1000, closed  # a dead server says no goodbye
    assert not a.alive()

    assert file["scanStatus"] == "CLEAN"
    assert file["agent"]["id"] == api.agent_id
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.content == content
    assert hashlib.sha256(downloaded.content).hexdigest() == file["checksum"]
    print(
        f"\n{total} events; A died after seq {last_seq}, B resumed with {total - last_seq}; "
        f"tasks ran in workers {sorted({r['pid'] for r in results})}"
    )


TASK = "query Task($id: ID!) { task(id: $id) { id state result } }"


async def task_results(api: Api, task_ids: list[str]) -> list[dict[str, Any]]:
    results = []
    for task_id in task_ids:
        task = (await api.client.execute(TASK, {"id": task_id}, token=api.token)).ok()["task"]
        assert task["state"] == "COMPLETED", task
        results.append(task["result"])
    return results
