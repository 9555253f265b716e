"""Background tasks over /graphql on the embedded broker: each TaskInput feature, cancellation,
live progress (agent events and taskUpdates over real WebSockets), broker refusal, lost workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from kai.app import create_app
from kai.config import Settings
from kai.db import transaction
from kai.models.agent_event import AgentEventType
from kai.models.base import utcnow
from kai.models.task import Task as TaskRow
from kai.models.task import TaskState
from kai.services.shared import Services
from kai.services.task_attempts import backoff
from kai.workers.runner import HANDLER_FAILED
from kai.workers.sweeper import LOST_WORKER_ERROR, sweep
from tests.support.agents import CREATE, DELETE, create_echo, signed_in
from tests.support.apps import client_at, running_app, services_of
from tests.support.graphql_client import GraphQLClient
from tests.support.servers import free_port, serve_app
from tests.support.tasks import (
    BACKOFF,
    ENQUEUE,
    LONG,
    TASK_FIELDS,
    WAIT,
    enqueue,
    row_in,
    row_when,
    task_settings,
)
from tests.support.ws_client import PROTOCOLS, ws_connect

CANCEL = f"mutation Cancel($id: ID!) {{ cancelTask(id: $id) {{ {TASK_FIELDS} }} }}"
TASK = f"query Task($id: ID!) {{ task(id: $id) {{ {TASK_FIELDS} }} }}"
NODE = "query Node($id: ID!) { node(id: $id) { id ... on Task { state type } } }"
AGENT_TASKS = """
query AgentTasks($id: ID!, $state: TaskState, $first: Int, $after: String) {
  agent(id: $id) {
    tasks(state: $state, first: $first, after: $after) {
      edges { cursor node { id state } }
      pageInfo { hasNextPage endCursor }
    }
    status { metrics { tasksPending tasksRunning tasksCompleted tasksFailed } }
  }
}
"""
UPDATES = """
subscription Updates($taskId: ID!) {
  taskUpdates(taskId: $taskId) { id state progress attempts result error agent { id } }
}
"""
EVENTS = """
subscription Events($agentId: ID!, $after: Int) {
  agentEvents(agentId: $agentId, after: $after) { seq type data }
}
"""
T = TypeVar("T")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return task_settings(database_url, tmp_path / "data")


@pytest.fixture
def services(app: Any) -> Services:
    return services_of(app)


async def cancel(client: GraphQLClient, token: str, task_id: str) -> dict[str, Any]:
    return (await client.execute(CANCEL, {"id": task_id}, token=token)).ok()["cancelTask"]  # type: ignore[no-any-return]


async def agent_tasks(
    client: GraphQLClient, token: str, agent_id: str, **arguments: Any
) -> dict[str, Any]:
    result = await client.execute(AGENT_TASKS, {"id": agent_id, **arguments}, token=token)
    return result.ok()["agent"]  # type: ignore[no-any-return]


async def task_events(services: Services, agent_id: str, task_id: str) -> list[Any]:
    events = await services.events.after(agent_id=agent_id, after=0)
    return [event for event in events if event.data.get("taskId") == task_id]


def seconds(later: datetime | None, earlier: datetime | None) -> float:
    assert later is not None and earlier is not None
    return (later - earlier).total_seconds()


class RefusingDispatcher:
    """A broker that is down."""

    async def dispatch(self, task_id: str) -> None:
        raise ConnectionError("broker down")

    async def cancel(self, task_id: str) -> None:
        raise ConnectionError("broker down")

    async def wake_system(self) -> None:
        raise ConnectionError("broker down")


class SilentDispatcher:
    """A broker that takes messages and delivers them to nobody (a worker that will die)."""

    async def dispatch(self, task_id: str) -> None:
        return None

    async def cancel(self, task_id: str) -> None:
        return None

    async def wake_system(self) -> None:
        return None


# --- running a task ----------------------------------------------------------------------


async def test_echo_task_completes_with_progress_steps_and_result_and_agent_events(
    client: GraphQLClient, services: Services
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    payload = {"steps": 3, "stepSeconds": 0.01, "note": "hi"}

    queued = await enqueue(client, token, agent["id"], payload=payload)
    await row_in(services, queued["id"], TaskState.COMPLETED)
    task = (await client.execute(TASK, {"id": queued["id"]}, token=token)).ok()["task"]
    listed = await agent_tasks(client, token, agent["id"])
    events = await task_events(services, agent["id"], queued["id"])

    assert queued["type"] == "echo" and queued["agent"] == {"id": agent["id"]}
    assert task["state"] == "COMPLETED"
    assert task["result"] == payload
    assert task["progress"] == 1.0
    assert task["attempts"] == 1 and task["error"] is None
    assert task["createdAt"] <= task["startedAt"] <= task["completedAt"]
    assert [e["node"]["id"] for e in listed["tasks"]["edges"]] == [queued["id"]]
    assert listed["status"]["metrics"] == {
        "tasksPending": 0,
        "tasksRunning": 0,
        "tasksCompleted": 1,
        "tasksFailed": 0,
    }
    # Claimed (RUNNING, no progress yet), one TASK_PROGRESS per step, then TASK_COMPLETE.
    assert [(e.type, e.data["state"], e.data["progress"]) for e in events] == [
        (AgentEventType.TASK_PROGRESS, "RUNNING", None),
        (AgentEventType.TASK_PROGRESS, "RUNNING", pytest.approx(1 / 3)),
        (AgentEventType.TASK_PROGRESS, "RUNNING", pytest.approx(2 / 3)),
        (AgentEventType.TASK_PROGRESS, "RUNNING", 1.0),
        (AgentEventType.TASK_COMPLETE, "COMPLETED", 1.0),
    ]
    assert events[-1].data["result"] == payload


async def test_unknown_task_type_and_bad_input_name_the_field_and_queue_nothing(
    client: GraphQLClient,
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    bad = [
        ({"type": "prompt"}, "input.type"),
        ({"type": "echo", "retries": 21}, "input.retries"),
        ({"type": "echo", "delaySeconds": -1}, "input.delaySeconds"),
        ({"type": "echo", "timeoutSeconds": 0}, "input.timeoutSeconds"),
        ({"type": "echo", "priority": 5000}, "input.priority"),
    ]

    for input, field in bad:
        result = await client.execute(
            ENQUEUE, {"agentId": agent["id"], "input": input}, token=token
        )
        assert result.codes == ["BAD_USER_INPUT"], input
        assert result.errors[0]["extensions"]["field"] == field

    assert (await agent_tasks(client, token, agent["id"]))["tasks"]["edges"] == []


async def test_higher_priority_starts_first_when_the_worker_is_busy(
    client: GraphQLClient, services: Services
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    blocker = await enqueue(client, token, agent["id"], payload=LONG)
    await row_in(services, blocker["id"], TaskState.RUNNING)

    low = await enqueue(client, token, agent["id"], priority=-5)
    high = await enqueue(client, token, agent["id"], priority=5)
    await cancel(client, token, blocker["id"])  # frees the one worker
    low_row = await row_in(services, low["id"], TaskState.COMPLETED)
    high_row = await row_in(services, high["id"], TaskState.COMPLETED)

    assert (low["priority"], high["priority"]) == (-5, 5)
    assert high_row.started_at is not None and low_row.started_at is not None
    assert high_row.started_at < low_row.started_at


async def test_delayed_task_does_not_start_before_its_delay(
    client: GraphQLClient, services: Services
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)

    queued = await enqueue(client, token, agent["id"], delaySeconds=1)
    row = await row_in(services, queued["id"], TaskState.COMPLETED)

    assert queued["state"] == "PENDING"
    assert seconds(row.started_at, row.created_at) >= 1.0


async def test_failed_attempts_are_retried_with_exponential_backoff(
    client: GraphQLClient, services: Services
) -> None:
    token = await signed_in(client)
    # Nothing listens on this port: every attempt fails with RuntimeUnavailable.
    closed = f"http://127.0.0.1:{free_port()}/v1"
    llm = {"name": "llm", "type": "llm", "configuration": {"baseUrl": closed, "model": "m"}}
    agent = (await client.execute(CREATE, {"input": llm}, token=token)).ok()["createAgent"]

    queued = await enqueue(
        client, token, agent["id"], type="prompt", payload={"prompt": "hi"}, retries=3
    )
    row = await row_in(services, queued["id"], TaskState.FAILED)
    events = await task_events(services, agent["id"], queued["id"])

    assert row.attempts == 4
    assert row.error is not None and "unreachable" in row.error
    # When each attempt started (its claim). The n-th retry may not start before the
    # n-th attempt failed plus backoff(n), so the gap between starts is at least that.
    started = {
        e.data["attempts"]: e.timestamp for e in reversed(events) if e.data["state"] == "RUNNING"
    }
    retried = [e.data["attempts"] for e in events if e.data["state"] == "PENDING"]
    assert sorted(started) == [1, 2, 3, 4] and retried == [1, 2, 3]
    gaps = [seconds(started[n + 1], started[n]) for n in (1, 2, 3)]
    for attempt, gap in zip((1, 2, 3), gaps, strict=True):
        assert gap >= backoff(attempt, BACKOFF), gaps  # 0.2, 0.4, 0.8 s
    assert gaps[2] > gaps[0], gaps


async def test_an_attempt_past_its_timeout_fails_with_error_timeout(
    client: GraphQLClient, services: Services
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)

    queued = await enqueue(client, token, agent["id"], payload=LONG, timeoutSeconds=0.3)
    row = await row_in(services, queued["id"], TaskState.FAILED)

    assert row.error == "timeout"
    assert row.attempts == 1
    assert 0.3 <= seconds(row.completed_at, row.started_at) < 2.0


# --- cancellation --------------------------------------------------------------------------


async def test_a_cancelled_pending_task_never_starts(
    client: GraphQLClient, services: Services
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    cancelled = await enqueue(client, token, agent["id"], delaySeconds=0.5)
    witness = await enqueue(client, token, agent["id"], delaySeconds=0.5)

    answer = await cancel(client, token, cancelled["id"])
    # The witness, due as late and queued later, ran: the sweeper has had its chance.
    await row_in(services, witness["id"], TaskState.COMPLETED)
    row = await services.tasks.get(task_id=cancelled["id"])

    assert answer["state"] == "CANCELLED"
    assert row is not None
    assert (row.state, row.attempts, row.started_at) == (TaskState.CANCELLED, 0, None)


async def test_a_cancelled_running_task_is_interrupted_within_2_seconds(
    client: GraphQLClient, services: Services
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    running = await enqueue(client, token, agent["id"], payload=LONG)
    await row_when(services, running["id"], lambda row: (row.progress or 0) > 0)

    started = asyncio.get_running_loop().time()
    answer = await cancel(client, token, running["id"])
    row = await row_in(services, running["id"], TaskState.CANCELLED, timeout=2.0)
    elapsed = asyncio.get_running_loop().time() - started
    # The one worker is free again: the handler really stopped.
    after = await enqueue(client, token, agent["id"])
    await row_in(services, after["id"], TaskState.COMPLETED, timeout=2.0)

    assert answer["state"] == "CANCELLED"
    assert elapsed < 2.0
    assert row.progress is not None and row.progress < 1.0


async def test_a_completed_task_never_changes(client: GraphQLClient, services: Services) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    queued = await enqueue(client, token, agent["id"], payload={"x": 1})
    await row_in(services, queued["id"], TaskState.COMPLETED)
    before = (await client.execute(TASK, {"id": queued["id"]}, token=token)).ok()["task"]
    row = await services.tasks.get(task_id=queued["id"])
    assert row is not None

    answer = await cancel(client, token, queued["id"])
    failed = await services.tasks.finish(
        task_id=row.id, state=TaskState.FAILED, expect=(TaskState.RUNNING,)
    )
    retried = await services.tasks.retry_or_fail(task=row, error="x", worker_id=None)
    progressed = await services.tasks.progress(
        task_id=row.id, worker_id=row.worker_id or "", progress=0.5
    )
    after = (await client.execute(TASK, {"id": queued["id"]}, token=token)).ok()["task"]

    assert answer == before
    assert (failed, retried, progressed) == (None, None, False)
    assert after == before


async def test_delete_agent_cancels_pending_tasks_and_interrupts_running_ones(
    client: GraphQLClient, services: Services
) -> None:
    token = await signed_in(client)
    doomed = await create_echo(client, token, name="doomed")
    other = await create_echo(client, token, name="other")
    running = await enqueue(client, token, doomed["id"], payload={"steps": 2, "stepSeconds": 30})
    pending = await enqueue(client, token, doomed["id"], delaySeconds=3600)
    await row_in(services, running["id"], TaskState.RUNNING)

    (await client.execute(DELETE, {"id": doomed["id"]}, token=token)).ok()
    # The one worker was running the 60 s task; it is free again at once (well before the
    # task's end: 10 s leave a busy machine time to queue, claim and run the next one).
    after = await enqueue(client, token, other["id"])
    await row_in(services, after["id"], TaskState.COMPLETED, timeout=10.0)

    for task in (running, pending):
        assert (await client.execute(TASK, {"id": task["id"]}, token=token)).codes == ["NOT_FOUND"]


# --- idempotency, listing, permissions -------------------------------------------------------


async def test_same_idempotency_key_returns_the_same_task(
    client: GraphQLClient, services: Services
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    other_agent = await create_echo(client, token, name="other")

    first = await enqueue(client, token, agent["id"], key="job-1", payload={"n": 1})
    again = await enqueue(client, token, agent["id"], key="job-1", payload={"n": 2})
    other = await enqueue(client, token, agent["id"], key="job-2", payload={"n": 3})
    elsewhere = await client.execute(
        ENQUEUE,
        {"agentId": other_agent["id"], "input": {"type": "echo"}, "key": "job-1"},
        token=token,
    )
    listed = await agent_tasks(client, token, agent["id"])

    assert again["id"] == first["id"] and again["payload"] == {"n": 1}
    assert other["id"] != first["id"]
    assert elsewhere.codes == ["CONFLICT"]
    assert sorted(e["node"]["id"] for e in listed["tasks"]["edges"]) == sorted(
        [first["id"], other["id"]]
    )


async def test_agent_tasks_are_paged_newest_first_and_filtered_by_state(
    client: GraphQLClient, services: Services
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    done = [await enqueue(client, token, agent["id"]) for _ in range(2)]
    for task in done:
        await row_in(services, task["id"], TaskState.COMPLETED)
    waiting = await enqueue(client, token, agent["id"], delaySeconds=3600)

    page_1 = await agent_tasks(client, token, agent["id"], first=2)
    cursor = page_1["tasks"]["pageInfo"]["endCursor"]
    page_2 = await agent_tasks(client, token, agent["id"], first=2, after=cursor)
    pending = await agent_tasks(client, token, agent["id"], state="PENDING")
    bad = await client.execute(AGENT_TASKS, {"id": agent["id"], "after": "nope"}, token=token)
    node = (await client.execute(NODE, {"id": waiting["id"]}, token=token)).ok()["node"]

    ids = [e["node"]["id"] for e in page_1["tasks"]["edges"] + page_2["tasks"]["edges"]]
    assert ids == [waiting["id"], done[1]["id"], done[0]["id"]]
    assert page_1["tasks"]["pageInfo"]["hasNextPage"] is True
    assert page_2["tasks"]["pageInfo"]["hasNextPage"] is False
    assert [e["node"]["id"] for e in pending["tasks"]["edges"]] == [waiting["id"]]
    assert page_1["status"]["metrics"] == {
        "tasksPending": 1,
        "tasksRunning": 0,
        "tasksCompleted": 2,
        "tasksFailed": 0,
    }
    assert bad.codes == ["BAD_USER_INPUT"]
    assert node == {"id": waiting["id"], "state": "PENDING", "type": "echo"}


async def test_others_tasks_are_not_found_and_the_denial_is_audited(
    client: GraphQLClient,
) -> None:
    admin = await signed_in(client, "admin@example.com")
    alice = await signed_in(client, "alice@example.com")
    bob = await signed_in(client, "bob@example.com")
    agent = await create_echo(client, alice)
    second = await create_echo(client, alice, name="second")
    task = await enqueue(client, alice, agent["id"], delaySeconds=3600)
    narrowed = (await client.create_api_key(alice, agentIds=[second["id"]]))["secret"]
    read_only = (await client.create_api_key(alice, permissions=["agent.read"]))["secret"]

    denied = [
        await client.execute(TASK, {"id": task["id"]}, token=bob),
        await client.execute(NODE, {"id": task["id"]}, token=bob),
        await client.execute(CANCEL, {"id": task["id"]}, token=bob),
        await client.execute(
            ENQUEUE, {"agentId": agent["id"], "input": {"type": "echo"}}, token=bob
        ),
        await client.execute(TASK, {"id": task["id"]}, token=narrowed),
        await client.execute(TASK, {"id": "tsk_missing"}, token=alice),
    ]
    forbidden = await client.execute(
        ENQUEUE, {"agentId": agent["id"], "input": {"type": "echo"}}, token=read_only
    )
    hidden_list = await client.execute(AGENT_TASKS, {"id": agent["id"]}, token=read_only)
    as_admin = (await client.execute(CANCEL, {"id": task["id"]}, token=admin)).ok()["cancelTask"]
    audit = await client.execute(
        'query { auditLog(action: "task.read", granted: false) '
        "{ edges { node { resource user { email } } } } }",
        token=admin,
    )

    assert [r.codes for r in denied] == [["NOT_FOUND"]] * len(denied)
    assert forbidden.codes == ["FORBIDDEN"]
    assert hidden_list.codes == ["FORBIDDEN"]
    assert as_admin["state"] == "CANCELLED"
    denials = [e["node"] for e in audit.ok()["auditLog"]["edges"]]
    assert {"resource": f"task:{task['id']}", "user": {"email": "bob@example.com"}} in denials


# --- the broker and the watchdog -----------------------------------------------------------


async def test_a_refusing_broker_is_service_unavailable_and_the_task_ends_failed(
    client: GraphQLClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    monkeypatch.setattr(services.tasks, "dispatcher", RefusingDispatcher())

    result = await client.execute(
        ENQUEUE, {"agentId": agent["id"], "input": {"type": "echo"}}, token=token
    )
    monkeypatch.undo()
    await sweep(services.tasks, lease_seconds=30)  # the broker is back: nothing revives it
    listed = await agent_tasks(client, token, agent["id"])
    [edge] = listed["tasks"]["edges"]
    row = await services.tasks.get(task_id=edge["node"]["id"])

    assert result.codes == ["SERVICE_UNAVAILABLE"]
    assert row is not None
    assert row.state is TaskState.FAILED
    assert row.error == "the task broker was unavailable"
    assert row.attempts == 0
    assert listed["status"]["metrics"]["tasksPending"] == 0


async def test_a_task_whose_worker_was_lost_is_retried_or_failed_by_the_sweeper(
    client: GraphQLClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    # Three tasks taken by a worker that then dies: it never heartbeats again.
    monkeypatch.setattr(services.tasks, "dispatcher", SilentDispatcher())
    retried = await enqueue(client, token, agent["id"], retries=1)
    failed = await enqueue(client, token, agent["id"])
    cancelled = await enqueue(client, token, agent["id"], retries=1)
    for task in (retried, failed, cancelled):
        claimed = await services.tasks.claim(task_id=task["id"], worker_id="wrk_dead")
        assert claimed is not None and claimed.state is TaskState.RUNNING
    # Its cancel reaches no worker: only the row says it was asked for.
    await services.tasks.cancel(task_id=cancelled["id"])
    monkeypatch.undo()
    lease = 0.2
    async with transaction(services.sessionmaker) as session:
        await session.execute(
            update(TaskRow)
            .where(col(TaskRow.worker_id) == "wrk_dead")
            .values(heartbeat_at=utcnow() - timedelta(seconds=lease * 2))
        )

    await sweep(services.tasks, lease_seconds=lease)
    done = await row_in(services, retried["id"], TaskState.COMPLETED)
    lost = await row_in(services, failed["id"], TaskState.FAILED)
    stopped = await row_in(services, cancelled["id"], TaskState.CANCELLED)

    assert done.attempts == 2 and done.worker_id != "wrk_dead"
    assert (lost.attempts, lost.error) == (1, LOST_WORKER_ERROR)
    assert stopped.attempts == 1


# --- taskUpdates over a real WebSocket ------------------------------------------------------


@pytest.fixture(params=PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[tuple[str, GraphQLClient, Services]]:
    app = create_app(settings)
    async with (
        serve_app(app) as url,
        httpx.AsyncClient(base_url=url, timeout=WAIT) as http,
    ):
        yield url, GraphQLClient(http), services_of(app)


async def test_task_updates_follow_a_task_live_and_complete_after_its_end(
    server: tuple[str, GraphQLClient, Services], protocol: str
) -> None:
    url, client, services = server
    token = await signed_in(client)
    agent = await create_echo(client, token)
    payload = {"steps": 3, "stepSeconds": 0.1}
    # Not due until the subscription has answered with the PENDING task.
    queued = await enqueue(client, token, agent["id"], payload=payload, delaySeconds=3600)
    seen = await services.events.last_seq(agent_id=agent["id"])

    async with ws_connect(url, protocol, token=token) as ws:
        events_op = await ws.subscribe(EVENTS, {"agentId": agent["id"], "after": seen})
        updates_op = await ws.subscribe(UPDATES, {"taskId": queued["id"]})
        first = await ws.receive(updates_op)
        async with transaction(services.sessionmaker) as session:
            await session.execute(
                update(TaskRow).where(col(TaskRow.id) == queued["id"]).values(not_before=utcnow())
            )
        messages = [first, *await ws.until_complete(updates_op)]
        updates = [m.payload["data"]["taskUpdates"] for m in messages[:-1]]
        events = [
            (await ws.next(events_op))["agentEvents"] for _ in range(5)
        ]  # claim, 3 steps, complete
        done_op = await ws.subscribe(UPDATES, {"taskId": queued["id"]})
        again = await ws.until_complete(done_op)

    assert messages[-1].type == "complete"
    assert all(m.type == "next" and not m.errors for m in messages[:-1]), messages
    assert updates[0]["state"] == "PENDING"
    assert updates[-1]["state"] == "COMPLETED" and updates[-1]["result"] == payload
    assert all(u["id"] == queued["id"] and u["agent"] == {"id": agent["id"]} for u in updates)
    order = ["PENDING", "RUNNING", "COMPLETED"]
    assert [order.index(u["state"]) for u in updates] == sorted(
        order.index(u["state"]) for u in updates
    )
    # Steps 100 ms apart are each seen; the last one may be read already COMPLETED.
    progress = [u["progress"] for u in updates if u["state"] == "RUNNING" and u["progress"]]
    assert progress[:2] == pytest.approx([1 / 3, 2 / 3])
    assert [(e["type"], e["data"]["taskId"]) for e in events] == [
        ("TASK_PROGRESS", queued["id"])
    ] * 4 + [("TASK_COMPLETE", queued["id"])]
    assert [m.type for m in again] == ["next", "complete"]
    assert again[0].payload["data"]["taskUpdates"]["state"] == "COMPLETED"


async def test_a_stopped_agents_tasks_wait_unclaimed_and_run_once_it_runs_again(
    client: GraphQLClient, services: Services
) -> None:
    token = await signed_in(client)
    agent = await create_echo(client, token)
    await client.execute(
        "mutation($id: ID!) { stopAgent(id: $id) { state } }", {"id": agent["id"]}, token=token
    )

    queued = await enqueue(client, token, agent["id"])
    # Many sweeps (every 0.05 s) pass: none may dispatch or claim it.
    await asyncio.sleep(0.5)
    waiting = await services.tasks.get(task_id=queued["id"])
    await client.execute(
        "mutation($id: ID!) { restartAgent(id: $id) { state } }", {"id": agent["id"]}, token=token
    )
    done = await row_in(services, queued["id"], TaskState.COMPLETED)

    assert waiting is not None
    assert (waiting.state, waiting.started_at, waiting.dispatched) == (
        TaskState.PENDING,
        None,
        False,
    )
    assert done.attempts == 1


async def test_a_handler_that_raises_fails_the_task_without_python_s_words(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the handler raised stays in the server's log; the task says only that it
    failed (docs/security.md H1): `int("x")` must not tell the owner about Python."""
    monkeypatch.setenv("TASK_LOG", str(tmp_path / "tasks.log"))
    settings = task_settings(
        database_url,
        tmp_path / "data",
        runtimes_extra=["tests.support.task_runtime:CountingRuntime"],
    )
    async with running_app(settings) as app, client_at(app) as client:
        token = await signed_in(client)
        agent = await create_echo(client, token, type="counter")
        task = await enqueue(client, token, agent["id"], type="count", payload={"steps": "x"})
        failed = await row_in(services_of(app), task["id"], TaskState.FAILED)
    assert failed.error == HANDLER_FAILED
    assert "ValueError" not in (failed.error or "") and "int()" not in (failed.error or "")
