"""A task's hot path: progress reports coalesced (at most one stored event per interval,
the last value always delivered), a claim or an outcome that reads nothing back, and
enqueueTask's one write transaction (its audit row included). Costs are counted, never
timed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlmodel import col

from kai.models.agent_event import AgentEventType
from kai.models.audit import AuditEntry
from kai.models.task import TaskState
from kai.runtimes.base import AgentHandle, Progress
from kai.runtimes.echo import EchoRuntime
from kai.services.shared import Services
from kai.workers.progress import CoalescedProgress
from kai.workers.runner import TaskRunner
from tests.support.agents import create_echo, signed_in
from tests.support.apps import client_at, running_app, services_of
from tests.support.graphql_client import GraphQLClient
from tests.support.settings import QUIET_HOUSEKEEPING
from tests.support.statements import counting_statements
from tests.support.tasks import ENQUEUE, enqueue, row_in, row_when, task_settings

INTERVAL = 0.5


class ReportingRuntime(EchoRuntime):
    """Test agent: echo's, whose `report` task reports each of `values` at once, then waits
    `pause` seconds and completes, or fails if `fail`."""

    name = "reporter"
    description = "Test agent: its tasks report progress in bursts."
    config_schema: dict[str, Any] = {"type": "object"}
    task_types: tuple[str, ...] = ("report",)

    async def run_task(
        self, agent: AgentHandle, task_type: str, payload: Any, progress: Progress
    ) -> Any:
        for value in payload["values"]:
            await progress(value)
        await asyncio.sleep(payload.get("pause", 0))
        if payload.get("fail"):
            raise RuntimeError("failed on purpose")
        return "done"


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    settings = task_settings(
        database_url,
        tmp_path / "data",
        task_progress_interval_seconds=INTERVAL,
        runtimes_extra=["tests.test_task_progress:ReportingRuntime"],
        # No sweeps or looks for system tasks meanwhile: the statements counted are the
        # test's own.
        **QUIET_HOUSEKEEPING,
    )
    async with running_app(settings) as application:
        yield application


async def progress_events(services: Services, agent_id: str, task_id: str) -> list[Any]:
    """(type, state, progress) of the task's stored events, in order."""
    events = await services.events.after(agent_id=agent_id, after=0)
    return [
        (e.type, e.data["state"], e.data["progress"])
        for e in events
        if e.data.get("taskId") == task_id
    ]


# --- through the API ---------------------------------------------------------------------


async def test_a_burst_of_reports_stores_one_event_and_the_outcome_carries_the_last(
    client: GraphQLClient, app: Any
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    task = await enqueue(client, token, agent["id"], payload={"steps": 100, "stepSeconds": 0})
    await row_in(services_of(app), task["id"], TaskState.COMPLETED)

    # 100 reports within the interval: held, and the last (1.0) is what the outcome says.
    assert await progress_events(services_of(app), agent["id"], task["id"]) == [
        (AgentEventType.TASK_PROGRESS, "RUNNING", None),
        (AgentEventType.TASK_COMPLETE, "COMPLETED", 1.0),
    ]


async def test_the_last_report_before_a_failure_is_stored_before_the_outcome(
    client: GraphQLClient, app: Any
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token, type="reporter")
    values = [step / 100 for step in range(1, 71)]
    task = await enqueue(
        client, token, agent["id"], type="report", payload={"values": values, "fail": True}
    )
    await row_in(services_of(app), task["id"], TaskState.FAILED)

    assert await progress_events(services_of(app), agent["id"], task["id"]) == [
        (AgentEventType.TASK_PROGRESS, "RUNNING", None),
        (AgentEventType.TASK_PROGRESS, "RUNNING", 0.7),
        (AgentEventType.TASK_COMPLETE, "FAILED", 0.7),
    ]


async def test_a_held_report_is_stored_once_the_interval_is_over_while_the_task_runs(
    client: GraphQLClient, app: Any
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token, type="reporter")
    payload = {"values": [0.2, 0.4], "pause": INTERVAL * 4}
    task = await enqueue(client, token, agent["id"], type="report", payload=payload)
    services = services_of(app)

    running = await row_in(services, task["id"], TaskState.RUNNING)
    # The first stored value, or the end: the task pauses 4 intervals after its reports, so
    # the held one is due well before it ends (a look at a fixed moment could come before
    # the write on a busy machine, or after the end).
    meanwhile = await row_when(
        services,
        task["id"],
        lambda row: row.progress is not None or row.state is not TaskState.RUNNING,
    )
    await row_in(services, task["id"], TaskState.COMPLETED)

    assert running.progress is None
    assert meanwhile is not None and meanwhile.state is TaskState.RUNNING
    assert meanwhile.progress == 0.4
    assert await progress_events(services, agent["id"], task["id"]) == [
        (AgentEventType.TASK_PROGRESS, "RUNNING", None),
        (AgentEventType.TASK_PROGRESS, "RUNNING", 0.4),
        (AgentEventType.TASK_COMPLETE, "COMPLETED", 1.0),
    ]


# --- the coalescing alone ----------------------------------------------------------------


class Stored:
    """A fake store: the values written, in order; `mine` False says the task is gone."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.mine = True
        self.lost = 0

    async def store(self, value: float) -> bool:
        await asyncio.sleep(0.01)  # a write takes a while
        self.values.append(value)
        return self.mine

    def coalesced(self, interval: float) -> CoalescedProgress:
        def lost() -> None:
            self.lost += 1

        return CoalescedProgress(self.store, interval=interval, lost=lost)


async def test_with_no_interval_every_report_is_stored() -> None:
    stored = Stored()
    progress = stored.coalesced(0.0)
    for value in (0.25, 0.5, 0.75):
        assert await progress.report(value)
    await progress.settle(1.0)
    assert stored.values == [0.25, 0.5, 0.75]


async def test_reports_are_stored_at_most_once_per_interval_and_the_latest_wins() -> None:
    stored = Stored()
    loop = asyncio.get_running_loop()
    began = loop.time()
    progress = stored.coalesced(0.1)
    for step in range(1, 301):  # some three intervals' worth of reports
        assert await progress.report(step / 1000)
        await asyncio.sleep(0.001)
    await progress.settle(None)
    intervals = (loop.time() - began) / 0.1

    assert 2 <= len(stored.values) <= intervals + 2
    assert stored.values == sorted(stored.values)
    assert stored.values[-1] == 0.3


async def test_a_held_value_that_the_outcome_says_is_not_stored_twice() -> None:
    stored = Stored()
    progress = stored.coalesced(10.0)
    await progress.report(0.5)
    await progress.report(1.0)
    await progress.settle(1.0)
    assert stored.values == []

    other = Stored()
    progress = other.coalesced(10.0)
    await progress.report(0.9)
    await progress.settle(1.0)
    assert other.values == [0.9]


async def test_a_delayed_write_that_finds_the_task_gone_says_so() -> None:
    stored = Stored()
    stored.mine = False
    progress = stored.coalesced(0.05)
    assert await progress.report(0.5)  # held: nothing known yet
    async with asyncio.timeout(10):  # written once the interval is over, then found gone
        while not stored.lost:  # noqa: ASYNC110 (a callback's count)
            await asyncio.sleep(0.01)
    assert (stored.values, stored.lost) == ([0.5], 1)
    await progress.settle(None)
    assert stored.values == [0.5]


async def test_settling_waits_for_a_write_under_way_and_nothing_is_written_after() -> None:
    began, release = asyncio.Event(), asyncio.Event()
    written: list[float] = []

    async def store(value: float) -> bool:
        began.set()
        await release.wait()
        written.append(value)
        return True

    progress = CoalescedProgress(store, interval=0.05, lost=lambda: None)
    await progress.report(0.1)
    await began.wait()  # the timer's write of 0.1 is under way
    await progress.report(0.2)
    settling = asyncio.create_task(progress.settle(None))
    await asyncio.sleep(0.1)
    assert not settling.done() and written == []
    release.set()
    await settling
    await asyncio.sleep(0.1)
    assert written == [0.1, 0.2]


# --- what a task costs -------------------------------------------------------------------


@contextmanager
def counting_commits(app: Any) -> Iterator[list[int]]:
    commits: list[int] = []
    engine = app.state.services.engine.sync_engine

    def count(_connection: Any) -> None:
        commits.append(1)

    event.listen(engine, "commit", count)
    try:
        yield commits
    finally:
        event.remove(engine, "commit", count)


class SilentDispatcher:
    """Takes wake-ups and delivers them to nobody: no worker writes meanwhile."""

    async def dispatch(self, task_id: str) -> None:
        return None

    async def cancel(self, task_id: str) -> None:
        return None

    async def wake_system(self) -> None:
        return None


async def test_enqueue_is_one_write_transaction_with_its_audit_row(
    client: GraphQLClient, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    services = services_of(app)
    monkeypatch.setattr(services.tasks, "dispatcher", SilentDispatcher())

    with counting_commits(app) as commits:
        task = await enqueue(client, token, agent["id"])
    row = await services.tasks.get(task_id=task["id"])
    async with services.sessionmaker() as session:
        audited = (
            await session.scalars(
                select(AuditEntry).where(col(AuditEntry.resource) == f"agent:{agent['id']}")
            )
        ).all()

    # The row, its wake-up's mark and the audit row of the check, committed together.
    assert len(commits) == 1
    assert row is not None and row.dispatched and row.state is TaskState.PENDING
    assert [(a.action, a.granted) for a in audited if a.action == "task.create"] == [
        ("task.create", True)
    ]


async def test_an_enqueue_that_is_refused_still_writes_its_audit_row(
    database_url: str, tmp_path: Path
) -> None:
    settings = task_settings(database_url, tmp_path / "data", quota_queued_tasks_per_user=1)
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)
        agent = await create_echo(client, token)
        await enqueue(client, token, agent["id"], delaySeconds=3600)
        refused = await client.execute(
            ENQUEUE, {"agentId": agent["id"], "input": {"type": "echo"}}, token=token
        )
        async with services_of(app).sessionmaker() as session:
            audited = (
                await session.scalars(
                    select(col(AuditEntry.action)).where(col(AuditEntry.action) == "task.create")
                )
            ).all()
    assert refused.codes == ["QUOTA_EXCEEDED"]
    # Two checks, two rows: the refused enqueue's rolled back with its transaction and
    # was written on its own.
    assert len(audited) == 2


async def test_a_claim_and_an_outcome_read_no_task_row_back(
    client: GraphQLClient, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    services = services_of(app)
    monkeypatch.setattr(services.tasks, "dispatcher", SilentDispatcher())
    task = await enqueue(client, token, agent["id"])

    with counting_statements(app) as claiming:
        claimed = await services.tasks.claim_to_run(worker_id="wrk_test")
    with counting_statements(app) as finishing:
        finished = await services.tasks.finish(
            task_id=task["id"],
            state=TaskState.COMPLETED,
            expect=(TaskState.RUNNING,),
            worker_id="wrk_test",
        )

    assert claimed is not None
    claimed_task, claimed_agent = claimed
    assert claimed_task.id == task["id"] and claimed_task.state is TaskState.RUNNING
    assert claimed_agent is not None and claimed_agent.id == agent["id"]
    assert finished is not None and finished.state is TaskState.COMPLETED
    for statements in (claiming, finishing):
        assert [s for s in statements if s.lstrip().startswith("SELECT task.id, task.")] == []


async def test_a_task_done_quickly_is_claimed_and_finished_on_one_connection(
    client: GraphQLClient, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    services = services_of(app)
    monkeypatch.setattr(services.tasks, "dispatcher", SilentDispatcher())
    task = await enqueue(client, token, agent["id"])
    runner = TaskRunner.for_services(services)
    taken: list[int] = []

    def count(*_: Any) -> None:
        taken.append(1)

    pool = services.engine.sync_engine.pool
    event.listen(pool, "checkout", count)
    try:
        assert await runner.run_next()
    finally:
        event.remove(pool, "checkout", count)

    done = await services.tasks.get(task_id=task["id"])
    assert done is not None and done.state is TaskState.COMPLETED
    assert len(taken) == 1  # the claim's connection, lent to the outcome
