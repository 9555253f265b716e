"""Backing services die and come back under load; kAI's own processes are never restarted.

One `kai serve` and one `kai worker`, on a PostgreSQL cluster and a redis-server
that the test owns. Two clients keep calling createAgent, sendCommand and
enqueueTask the whole time, a subscriber follows the agent's events, and a probe
polls /readyz. PostgreSQL is stopped (fast: sessions cut, requests caught
mid-statement) for a few seconds and started again, then Redis is killed and
started again empty. Every request answers within a bound; a refusal is
SERVICE_UNAVAILABLE, never INTERNAL_SERVER_ERROR (a file's signed link too);
/readyz names the dead service during each gap; requests succeed again
afterwards; and every acknowledged write
is there in the end: each agent, each command's result, each task completed, the
subscriber's events in order with no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from kai.db import create_engine, database_unavailable
from tests.support.agents import COMMAND, CREATE, signed_in
from tests.support.files import relative
from tests.support.graphql_client import GraphQLClient
from tests.support.postgres_server import PostgresProcess, postgres_process
from tests.support.processes import KaiProcess, Processes, processes
from tests.support.redis_server import RedisProcess
from tests.support.servers import clean_env
from tests.support.settings import TEST_SECRET
from tests.support.subscriptions import EVENTS_BRIEF
from tests.support.uploads import upload
from tests.support.ws_client import TRANSPORT_WS, ws_connect

pytestmark = pytest.mark.slow

ENQUEUE = """
mutation Enqueue($agentId: ID!, $input: TaskInput!) {
  enqueueTask(agentId: $agentId, input: $input) { id state }
}
"""
AGENT = "query Agent($id: ID!) { agent(id: $id) { id name } }"
TASKS = """
query Tasks($id: ID!) {
  agent(id: $id) {
    pending: tasks(state: PENDING, first: 5) { edges { node { id state error } } }
    running: tasks(state: RUNNING, first: 5) { edges { node { id state error } } }
  }
}
"""
TASK = "query Task($id: ID!) { task(id: $id) { id state attempts error } }"
METRICS = """
query Metrics($id: ID!) {
  agentStatus(id: $id) { metrics { tasksPending tasksRunning tasksCompleted tasksFailed } }
}
"""
# No request may take longer than this, whatever is down (the server's own request
# timeout, KAI_REQUEST_TIMEOUT_SECONDS, stays at its default of 60 s: a hang shows).
BOUND = 10.0
GAP = 4.0  # how long each service stays down
MARGIN = 0.5  # around a stop and a restart, where either outcome is right
WAIT = 30.0


# --- the system -------------------------------------------------------------------------------


@dataclass
class System:
    url: str
    server: KaiProcess
    worker: KaiProcess
    postgres: PostgresProcess
    redis: RedisProcess
    all: Processes


@pytest.fixture
def postgres() -> Iterator[PostgresProcess]:
    with postgres_process() as server:
        yield server


@pytest.fixture
async def system(
    postgres: PostgresProcess, redis: RedisProcess, tmp_path: Path
) -> AsyncIterator[System]:
    def env(name: str) -> dict[str, str]:
        return clean_env(
            KAI_DATABASE_URL=postgres.url,
            KAI_REDIS_URL=redis.url,
            KAI_BROADCAST_URL=redis.url,
            KAI_JWT_SECRET=TEST_SECRET,
            KAI_DATA_DIR=str(tmp_path / name),
            KAI_FILES_DIR=str(tmp_path / "files"),  # one host: the worker indexes uploads
            KAI_QDRANT_URL=":memory:",
            KAI_TASK_SWEEP_SECONDS="0.5",
            KAI_TASK_HEARTBEAT_SECONDS="0.5",
            KAI_TASK_REDELIVER_SECONDS="2",
            KAI_TASK_BACKOFF_SECONDS="0.2",
            KAI_LOG_LEVEL="INFO",
        )

    with processes() as running:
        server = running.serve("kai serve", env("serve"))
        try:
            await server.ready()  # it migrates the new database first
            worker = running.worker("kai worker", env("worker"))
            await worker.ready()
        except BaseException:
            print(running.logs())
            raise
        try:
            yield System(server.url, server, worker, postgres, redis, running)
        finally:
            print(running.logs())  # shown with a failing test only
            print("--- postgres ---\n" + postgres.server_log())


# --- what the clients see ---------------------------------------------------------------------


@dataclass
class Outcome:
    operation: str
    started: float
    took: float
    status: int | None = None
    codes: list[str] = field(default_factory=list)
    value: str | None = None  # what was acknowledged: an agent id, a command, a task id
    failure: str | None = None  # no answer at all: a timeout or a broken connection

    @property
    def acknowledged(self) -> bool:
        return self.value is not None


def _acknowledged_command(command: str, data: Any) -> str | None:
    return command if data["sendCommand"]["success"] else None


class Load:
    """Clients calling createAgent, sendCommand, enqueueTask, again and again, each one
    request after another; every outcome is noted."""

    def __init__(self, client: GraphQLClient, token: str, agent_id: str, clients: int = 2):
        self.client = client
        self.token = token
        self.agent_id = agent_id
        self.clients = clients
        self.outcomes: list[Outcome] = []  # in the order the answers came
        self.pending: dict[str, float] = {}  # client -> when its unanswered request was sent
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(f"n{n}")) for n in range(self.clients)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def _run(self, name: str) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            await self._call(
                name,
                "createAgent",
                CREATE,
                {"input": {"name": f"{name}-{i}", "type": "echo"}},
                lambda data: data["createAgent"]["id"],
            )
            command = f"{name}-{i}"
            await self._call(
                name,
                "sendCommand",
                COMMAND,
                {"agentId": self.agent_id, "command": {"command": command}},
                partial(_acknowledged_command, command),
            )
            payload = {"steps": 2, "stepSeconds": 0.05}
            await self._call(
                name,
                "enqueueTask",
                ENQUEUE,
                {"agentId": self.agent_id, "input": {"type": "echo", "payload": payload}},
                lambda data: data["enqueueTask"]["id"],
            )
            await asyncio.sleep(0.02)

    async def _call(
        self,
        name: str,
        operation: str,
        query: str,
        variables: dict[str, Any],
        acknowledged: Callable[[Any], str | None],
    ) -> None:
        started = time.monotonic()
        outcome = Outcome(operation, started, 0.0)
        self.pending[name] = started
        try:
            result = await self.client.execute(query, variables, token=self.token)
        except httpx.HTTPError as exc:
            outcome.failure = repr(exc)
        else:
            outcome.status = result.status
            outcome.codes = result.codes
            if result.status == 200 and not result.errors and result.data:
                outcome.value = acknowledged(result.data)
        outcome.took = time.monotonic() - started
        del self.pending[name]
        self.outcomes.append(outcome)

    def between(self, start: float, end: float) -> list[Outcome]:
        """The requests sent within [start, end)."""
        return [o for o in self.outcomes if start <= o.started < end]

    async def until_stuck(self, since: float, within: float = WAIT) -> None:
        """Until every client has waited for an answer since `since` (or since it sent its
        request, if later) for longer than any answer takes here."""
        async with asyncio.timeout(within):
            while True:
                now = time.monotonic()
                sent = list(self.pending.values())
                if len(sent) == self.clients and all(now - max(t, since) > 0.3 for t in sent):
                    return
                await asyncio.sleep(0.02)

    def in_flight(self, at: float) -> list[Outcome]:
        """The requests sent before `at` and answered after it."""
        return [o for o in self.outcomes if o.started < at < o.started + o.took]

    async def until_acknowledged(self, count: int, within: float = WAIT) -> float:
        """Until the last `count` answers were all acknowledgements; when the first of those
        requests was sent."""
        async with asyncio.timeout(within):
            while True:
                tail = self.outcomes[-count:]
                if len(tail) == count and all(o.acknowledged for o in tail):
                    return min(o.started for o in tail)
                await asyncio.sleep(0.05)

    def acknowledged(self, operation: str) -> list[str]:
        return [o.value for o in self.outcomes if o.operation == operation and o.value is not None]


class BackgroundLoop:
    """`_run` as a task from `start` until `stop` cancels it."""

    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        raise NotImplementedError


class Subscriber(BackgroundLoop):
    """Follows agentEvents like a careful client: on any end of the socket it connects
    again and resumes after the last seq it saw."""

    def __init__(self, url: str, token: str, agent_id: str):
        self.url = url
        self.token = token
        self.agent_id = agent_id
        self.events: list[dict[str, Any]] = []
        self.ends: list[str] = []  # why each connection ended

    async def _run(self) -> None:
        while True:
            after = int(self.events[-1]["seq"]) if self.events else 0
            try:
                async with ws_connect(self.url, TRANSPORT_WS, token=self.token) as socket:
                    op_id = await socket.subscribe(
                        EVENTS_BRIEF, {"agentId": self.agent_id, "after": after}
                    )
                    while True:
                        message = await socket.receive(op_id, timeout=3600)
                        if message.type != "next" or message.errors:
                            self.ends.append(f"{message.type}: {message.codes}")
                            break
                        self.events.append(message.payload["data"]["agentEvents"])
            except Exception as exc:  # closed, refused, a failed handshake: connect again
                self.ends.append(repr(exc))
            await asyncio.sleep(0.2)

    def commands(self) -> list[str]:
        return [str(e["data"]["command"]) for e in self.events if e["type"] == "COMMAND_RESULT"]

    def completed(self) -> set[str]:
        return {
            str(e["data"]["taskId"])
            for e in self.events
            if e["type"] == "TASK_COMPLETE" and e["data"]["state"] == "COMPLETED"
        }


@dataclass
class Probe:
    at: float
    status: int | None
    checks: dict[str, str]


class Readiness(BackgroundLoop):
    """GET /readyz every 0.2 s."""

    def __init__(self, http: httpx.AsyncClient):
        self.http = http
        self.probes: list[Probe] = []

    async def _run(self) -> None:
        while True:
            at = time.monotonic()
            try:
                response = await self.http.get("/readyz", timeout=BOUND)
                self.probes.append(Probe(at, response.status_code, response.json()["checks"]))
            except httpx.HTTPError as exc:
                self.probes.append(Probe(at, None, {"error": repr(exc)}))
            await asyncio.sleep(0.2)

    def between(self, start: float, end: float) -> list[Probe]:
        return [p for p in self.probes if start <= p.at < end]

    async def until_ready(self, within: float = WAIT) -> float:
        async with asyncio.timeout(within):
            while not (self.probes and self.probes[-1].status == 200):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        return self.probes[-1].at


@dataclass
class Gap:
    service: str
    down: float  # when it was stopped
    restarting: float  # when it was started again
    up: float  # when it answered again
    recovered: float = 0.0  # from when on kAI acknowledged every request again

    def surely_down(self) -> tuple[float, float]:
        """Where a request or a probe was sent surely after the stop took effect and
        surely answered before the restart (the margins take up scheduling delays)."""
        return self.down + MARGIN, self.restarting - MARGIN


# --- the tests --------------------------------------------------------------------------------


async def count_sessions(connection: AsyncConnection, where: str) -> int:
    """Sessions of the server in pg_stat_activity matching `where`, as they are now (within
    a transaction, PostgreSQL keeps showing the first look unless told to forget it)."""
    await connection.execute(text("SELECT pg_stat_clear_snapshot()"))
    found = await connection.execute(text(f"SELECT count(*) FROM pg_stat_activity WHERE {where}"))
    return int(found.scalar_one())


async def test_postgres_then_redis_stop_and_restart_under_load_without_restarting_kai(
    system: System,
) -> None:
    server_pid, worker_pid = system.server.pid, system.worker.pid
    gaps: list[Gap] = []
    async with httpx.AsyncClient(base_url=system.url, timeout=BOUND) as http:
        client = GraphQLClient(http)
        token = await signed_in(client)
        created = await client.execute(
            CREATE, {"input": {"name": "target", "type": "echo"}}, token=token
        )
        agent_id = str(created.ok()["createAgent"]["id"])
        content = b"kept through the outages\n"
        file = (await upload(client, token, content)).ok()["uploadFile"]
        downloads: dict[str, httpx.Response] = {}
        load = Load(client, token, agent_id)
        subscriber = Subscriber(system.url, token, agent_id)
        readiness = Readiness(http)
        for part in (subscriber, readiness, load):
            part.start()
        try:
            await load.until_acknowledged(15)

            # PostgreSQL: a fast stop (every session cut, like a failover), then back. The
            # agent table is locked first, so that requests are caught mid-statement.
            locking = create_async_engine(system.postgres.url, poolclass=NullPool)
            locker = await locking.connect()
            await locker.begin()
            await locker.execute(text("LOCK TABLE agent IN ACCESS EXCLUSIVE MODE"))
            await load.until_stuck(since=time.monotonic())
            down = time.monotonic()
            await asyncio.to_thread(system.postgres.stop, "fast")  # the load goes on meanwhile
            with contextlib.suppress(Exception):
                await locker.close()
            await locking.dispose()
            await asyncio.sleep(GAP / 2)
            downloads["database"] = await http.get(relative(file["url"]))
            await asyncio.sleep(GAP / 2)
            restarting = time.monotonic()
            await asyncio.to_thread(system.postgres.start)
            gaps.append(Gap("database", down, restarting, time.monotonic()))
            gaps[-1].recovered = await load.until_acknowledged(9)
            await readiness.until_ready()
            await asyncio.sleep(1.0)

            # Redis: killed, and back empty (no persistence): queued wake-ups are gone.
            down = time.monotonic()
            await asyncio.to_thread(system.redis.kill)
            await asyncio.sleep(GAP / 2)
            downloads["redis"] = await http.get(relative(file["url"]))
            await asyncio.sleep(GAP / 2)
            restarting = time.monotonic()
            await asyncio.to_thread(system.redis.start)
            gaps.append(Gap("redis", down, restarting, time.monotonic()))
            gaps[-1].recovered = await load.until_acknowledged(9)
            await readiness.until_ready()
            await asyncio.sleep(1.0)
        finally:
            await load.stop()
            await readiness.stop()

        try:
            # Every acknowledged write is there: each agent, each command's result, each task.
            for created_id in load.acknowledged("createAgent"):
                found = await client.execute(AGENT, {"id": created_id}, token=token)
                assert found.ok()["agent"] is not None, created_id
            task_ids = set(load.acknowledged("enqueueTask"))
            commands = load.acknowledged("sendCommand")
            downloads["after"] = await http.get(relative(file["url"]))
            deadline = time.monotonic() + WAIT
            while not (
                task_ids <= subscriber.completed() and set(commands) <= set(subscriber.commands())
            ):
                if time.monotonic() > deadline:
                    missing = [
                        (await client.execute(TASK, {"id": task_id}, token=token)).data
                        for task_id in task_ids - subscriber.completed()
                    ]
                    raise AssertionError(
                        f"acknowledged work missing: tasks {missing}, commands "
                        f"{sorted(set(commands) - set(subscriber.commands()))}"
                        + summary(load, gaps, subscriber, readiness)
                    )
                await asyncio.sleep(0.1)
            unfinished = (await client.execute(TASKS, {"id": agent_id}, token=token)).ok()
            metrics = (await client.execute(METRICS, {"id": agent_id}, token=token)).ok()
        finally:
            await subscriber.stop()

    outcomes = load.outcomes
    report = summary(load, gaps, subscriber, readiness)
    print(report)

    # Every request got an answer, in time; every refusal said the service is unavailable.
    assert [o for o in outcomes if o.failure] == [], report
    assert max(o.took for o in outcomes) < BOUND, report
    assert {code for o in outcomes for code in o.codes} <= {"SERVICE_UNAVAILABLE"}, report
    assert all(o.acknowledged or o.codes for o in outcomes), report

    database, redis = gaps
    # Requests cut off mid-statement by the stop, and every request sent during the gap.
    cut = load.in_flight(database.down)
    assert len(cut) >= load.clients, report
    assert all(o.codes == ["SERVICE_UNAVAILABLE"] for o in cut), (cut, report)
    during = load.between(*database.surely_down())
    assert during and all(o.codes == ["SERVICE_UNAVAILABLE"] for o in during), report
    # Without Redis, only what needs it (the task queue) may be refused.
    during = load.between(*redis.surely_down())
    assert during, report
    assert all(o.acknowledged for o in during if o.operation != "enqueueTask"), report
    # Back to normal within a few seconds, with the same processes.
    for gap in gaps:
        assert gap.recovered - gap.restarting < 10, report
    after = load.between(gaps[-1].recovered, time.monotonic())
    refused_after = [o for o in after if not o.acknowledged]
    assert after and not refused_after, (refused_after, report)
    assert system.server.alive() and system.worker.alive()
    assert (system.server.pid, system.worker.pid) == (server_pid, worker_pid)

    # A file's signed link: refused like the API without the database, served without Redis.
    refused = downloads["database"]
    assert refused.status_code == 503, (refused.status_code, refused.text)
    assert refused.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert downloads["redis"].status_code == 200, downloads["redis"].text
    assert downloads["after"].content == content

    # /readyz names the dead service, and only it, then recovers.
    for gap, other in ((database, "redis"), (redis, "database")):
        probes = readiness.between(*gap.surely_down())
        assert probes, report
        assert all(p.status == 503 for p in probes), (gap, [p for p in probes if p.status != 503])
        assert all(p.checks[gap.service].startswith("unreachable") for p in probes), probes
        assert all(p.checks[other] == "ok" for p in probes), probes
    assert readiness.probes[-1].status == 200, readiness.probes[-1]

    # The subscriber got everything, in order, exactly once, across both gaps.
    seqs = [int(e["seq"]) for e in subscriber.events]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    seen = subscriber.commands()
    assert len(seen) == len(set(seen)), "a command ran twice"
    assert set(commands) <= set(seen)
    # Every acknowledged task completed; none is left waiting or running. (Not asserted:
    # that only those completed. A request cut off after its task row was committed is
    # refused, yet the sweep may run that task later; a client retries with an
    # idempotencyKey to be sure.)
    assert task_ids <= subscriber.completed()
    assert unfinished["agent"] == {"pending": {"edges": []}, "running": {"edges": []}}, unfinished
    counts = metrics["agentStatus"]["metrics"]
    assert counts["tasksCompleted"] >= len(task_ids), (counts, len(task_ids))
    assert counts["tasksPending"] == counts["tasksRunning"] == 0, counts


async def test_postgres_going_away_is_an_outage_not_a_bug(postgres: PostgresProcess) -> None:
    """What asyncpg raises, through SQLAlchemy, as PostgreSQL stops and starts: each is
    told apart from a bad statement, so clients hear SERVICE_UNAVAILABLE and task
    runners wait it out."""
    engine = create_engine(postgres.url)
    seen: dict[str, BaseException] = {}

    async def select(sql: str) -> None:
        async with engine.connect() as connection:
            await connection.execute(text(sql))

    try:
        # A statement under way when a fast stop cuts its session.
        sleeping = asyncio.create_task(select("SELECT pg_sleep(30)"))
        async with engine.connect() as watcher, asyncio.timeout(WAIT):
            while not await count_sessions(  # noqa: ASYNC110 (another process's state)
                watcher, "query LIKE 'SELECT pg_sleep%'"
            ):
                await asyncio.sleep(0.02)
        await asyncio.to_thread(postgres.stop, "fast")
        with pytest.raises(Exception) as cut:
            await sleeping
        seen["cut mid-statement"] = cut.value

        # Nobody listening.
        with pytest.raises(Exception) as refused:
            await select("SELECT 1")
        seen["stopped"] = refused.value

        # Shutting down: a smart stop waits for the open session, refusing new ones.
        await asyncio.to_thread(postgres.start)
        holding = create_async_engine(postgres.url, poolclass=NullPool)
        holder = await holding.connect()
        await asyncio.to_thread(postgres.stop, "smart", wait=False)
        async with asyncio.timeout(WAIT):
            while "shutting down" not in seen:
                await engine.dispose()  # no pooled session: a new connection each time
                try:
                    await select("SELECT 1")
                except Exception as exc:
                    if "shutting down" in str(exc):
                        seen["shutting down"] = exc
                await asyncio.sleep(0.02)
        await holder.close()
        await holding.dispose()
        async with asyncio.timeout(WAIT):
            while postgres.running():  # noqa: ASYNC110 (another process's state)
                await asyncio.sleep(0.05)

        # A statement that is wrong is not an outage.
        await asyncio.to_thread(postgres.start)
        with pytest.raises(Exception) as wrong:
            await select("SELECT * FROM no_such_table")
    finally:
        await engine.dispose()

    assert {name: database_unavailable(exc) for name, exc in seen.items()} == dict.fromkeys(
        seen, True
    ), {name: repr(exc) for name, exc in seen.items()}
    assert not database_unavailable(wrong.value), repr(wrong.value)


def summary(load: Load, gaps: list[Gap], subscriber: Subscriber, readiness: Readiness) -> str:
    outcomes = load.outcomes
    lines = [f"\n{len(outcomes)} requests; slowest {max(o.took for o in outcomes):.2f} s"]
    for gap in gaps:
        during = load.between(*gap.surely_down())
        counts = Counter(
            (o.operation, "ack" if o.acknowledged else ",".join(o.codes) or str(o.failure))
            for o in during
        )
        lines.append(
            f"{gap.service} down {gap.up - gap.down:.1f} s, kAI acknowledging again "
            f"{gap.recovered - gap.restarting:.2f} s after its restart began; "
            f"during: {dict(counts)}"
        )
        cut = [
            f"{o.operation} sent {o.started - gap.down:+.2f} s, took {o.took:.2f} s: "
            f"{'ack' if o.acknowledged else ','.join(o.codes) or o.failure}"
            for o in load.in_flight(gap.down)
        ]
        lines.append(f"  in flight at the stop: {cut}")
    refused = Counter(",".join(o.codes) for o in outcomes if not o.acknowledged)
    failures = [o.failure for o in outcomes if o.failure]
    lines.append(f"refusals: {dict(refused)}; no answer: {failures}")
    lines.append(f"subscriber: {len(subscriber.events)} events, sockets ended: {subscriber.ends}")
    lines.append(f"readyz: {dict(Counter(p.status for p in readiness.probes))}")
    return "\n".join(lines)
