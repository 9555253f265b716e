"""Approvals over /graphql on SQLite and PostgreSQL: commands and tasks an agent's policy
names wait for a person, run when approved and are refused when rejected or expired; a
remote agent's own questions; decided once, however many decide at once; who may see and
decide what; bad input refused naming the field, with nothing kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from kai.db import transaction
from kai.models.agent_event import AgentEventType
from kai.models.approval import Approval as ApprovalRow
from kai.models.audit import AuditEntry
from kai.models.task import TaskState
from kai.services.shared import Services
from tests.support.approvals import (
    APPROVAL,
    DECIDE,
    ENQUEUE,
    SEND,
    TASK,
    Person,
    approvals_stored,
    events_of,
    person,
)
from tests.support.apps import client_at, running_app, services_of
from tests.support.graphql_client import GraphQLClient
from tests.support.settings import QUIET_HOUSEKEEPING, make_settings
from tests.support.statements import counting_statements
from tests.support.tasks import eventually, row_in, task_settings

STOP = "mutation Stop($id: ID!) { stopAgent(id: $id) { id state } }"
CANCEL = "mutation Cancel($id: ID!) { cancelTask(id: $id) { id state error } }"
CREATE_SCHEDULE = """
mutation Create($input: ScheduleInput!) { createSchedule(input: $input) { id } }
"""
RUN_NOW = """
mutation RunNow($id: ID!) {
  runScheduleNow(id: $id) { id state approval { kind requestedBy { email } } }
}
"""
DECIDED = (AgentEventType.APPROVAL_DECIDED,)
REQUESTED = (AgentEventType.APPROVAL_REQUESTED,)
RESULTS = (AgentEventType.COMMAND_RESULT,)


@pytest.fixture
def services(app: Any) -> Services:
    return services_of(app)


@pytest.fixture
async def admin(client: GraphQLClient) -> Person:
    return await person(client, "admin@example.com")  # the first account: ADMIN


@pytest.fixture
async def owner(client: GraphQLClient, admin: Person) -> Person:
    return await person(client, "owner@example.com")


async def send(
    who: Person, agent_id: str, command: str, key: str | None = None, **params: Any
) -> Any:
    variables: dict[str, Any] = {
        "agentId": agent_id,
        "command": {"command": command, "params": params},
    }
    return (await who.run(SEND, key=key, **variables))["sendCommand"]


async def decide(who: Person, approval_id: str, approve: bool, reason: str | None = None) -> Any:
    return await who.attempt(DECIDE, id=approval_id, approve=approve, reason=reason)


async def expire_now(services: Services, approval_id: str) -> None:
    """Its time is up: as if it had been requested its whole time and a second ago."""
    async with transaction(services.sessionmaker) as session:
        row = await session.get_one(ApprovalRow, approval_id)
        shift = row.expires_at - datetime.now(UTC) + timedelta(seconds=1)
        await session.execute(
            update(ApprovalRow)
            .where(col(ApprovalRow.id) == approval_id)
            .values(created_at=row.created_at - shift, expires_at=row.expires_at - shift)
        )


async def test_a_command_the_policy_names_answers_at_once_and_runs_when_approved(
    owner: Person, services: Services
) -> None:
    agent_id = await owner.agent()
    held = await send(owner, agent_id, "deploy", key="deploy-1", version=7)
    assert held["success"] is False and held["result"] is None and held["error"] is None
    approval = held["approval"]
    assert approval["kind"] == "COMMAND" and approval["state"] == "PENDING"
    assert approval["subject"] == {"command": "deploy", "params": {"version": 7}}
    assert approval["requestedBy"] == {"email": "owner@example.com"}
    assert approval["agent"] == {"id": agent_id} and approval["decidedBy"] is None
    # Commands the policy does not name run as before.
    ping = await send(owner, agent_id, "ping")
    assert ping["success"] is True and ping["approval"] is None
    # The same key, asked again while it waits: the same approval, nothing run, nothing new.
    again = await send(owner, agent_id, "deploy", key="deploy-1", version=7)
    assert again["approval"]["id"] == approval["id"] and again["success"] is False
    assert await approvals_stored(services) == 1
    assert [e["command"] for e in await events_of(services, agent_id, *RESULTS)] == ["ping"]

    decided = (await decide(owner, approval["id"], True, "ship it")).ok()["decideApproval"]
    assert decided["state"] == "APPROVED" and decided["reason"] == "ship it"
    assert decided["decidedBy"] == {"email": "owner@example.com"} and decided["decidedAt"]

    async def ran() -> dict[str, Any] | None:
        results = await events_of(services, agent_id, *RESULTS)
        return next((r for r in results if r.get("approvalId") == approval["id"]), None)

    result = await eventually(ran)
    assert result["success"] is True and result["command"] == "deploy"
    assert result["result"] == {"echo": "deploy", "params": {"version": 7}}
    # Its key now answers what ran, with the approval.
    replay = await send(owner, agent_id, "deploy", key="deploy-1", version=7)
    assert replay["success"] is True and replay["result"] == result["result"]
    assert replay["approval"]["state"] == "APPROVED"
    kinds = [e["type"] for e in await events_of(services, agent_id, *REQUESTED, *DECIDED)]
    assert kinds == ["APPROVAL_REQUESTED", "APPROVAL_DECIDED"]
    # The decision is in the audit trail: who decided which approval, and how.
    async with services.sessionmaker() as session:
        audited = await session.scalars(
            select(col(AuditEntry.resource)).where(
                col(AuditEntry.action) == "approval.decide", col(AuditEntry.granted).is_(True)
            )
        )
        assert list(audited) == [f"approval:{approval['id']} approve"]


async def test_a_rejected_command_never_runs_and_its_key_answers_the_refusal(
    owner: Person, services: Services
) -> None:
    agent_id = await owner.agent()
    held = await send(owner, agent_id, "deploy", key="k")
    approval_id = held["approval"]["id"]
    rejected = (await decide(owner, approval_id, False, "not on a Friday")).ok()
    assert rejected["decideApproval"]["state"] == "REJECTED"
    (result,) = await events_of(services, agent_id, *RESULTS)
    assert result["success"] is False and result["approvalId"] == approval_id
    assert result["error"] == "Approval rejected: not on a Friday"
    replay = await send(owner, agent_id, "deploy", key="k")
    assert replay["success"] is False and replay["error"] == "Approval rejected: not on a Friday"
    assert replay["approval"]["state"] == "REJECTED"
    # Decided once: a second decision changes nothing.
    late = await decide(owner, approval_id, True)
    assert late.codes == ["CONFLICT"] and "REJECTED" in late.errors[0]["message"]
    assert len(await events_of(services, agent_id, *RESULTS)) == 1


async def test_a_task_the_policy_names_awaits_approval_then_runs_or_is_cancelled(
    owner: Person, services: Services
) -> None:
    agent_id = await owner.agent()
    first = (await owner.run(ENQUEUE, agentId=agent_id, input={"type": "echo"}))["enqueueTask"]
    second = (await owner.run(ENQUEUE, agentId=agent_id, input={"type": "echo"}))["enqueueTask"]
    for task in (first, second):
        assert task["state"] == "AWAITING_APPROVAL"
        assert task["approval"]["kind"] == "TASK" and task["approval"]["state"] == "PENDING"
        assert task["approval"]["subject"]["type"] == "echo"
    await asyncio.sleep(0.3)  # a worker and sweeps are running: nothing may start it
    assert (await services.tasks.get(task_id=first["id"])).state is TaskState.AWAITING_APPROVAL  # type: ignore[union-attr]

    (await decide(owner, first["approval"]["id"], True)).ok()
    await row_in(services, first["id"], TaskState.COMPLETED)
    (await decide(owner, second["approval"]["id"], False, "too costly")).ok()
    cancelled = (await owner.run(TASK, id=second["id"]))["task"]
    assert cancelled["state"] == "CANCELLED"
    assert cancelled["error"] == "Approval rejected: too costly"
    assert cancelled["approval"]["state"] == "REJECTED"
    done = (await owner.run(TASK, id=first["id"]))["task"]
    assert done["state"] == "COMPLETED" and done["approval"]["state"] == "APPROVED"


async def test_approvals_nobody_decides_expire_once_however_many_sweeps_race(
    owner: Person, services: Services
) -> None:
    agent_id = await owner.agent()
    tasks = [
        (await owner.run(ENQUEUE, agentId=agent_id, input={"type": "echo"}))["enqueueTask"]
        for _ in range(3)
    ]
    command = await send(owner, agent_id, "deploy", key="late")
    approval_ids = [t["approval"]["id"] for t in tasks] + [command["approval"]["id"]]
    for approval_id in approval_ids:
        await expire_now(services, approval_id)
    # In time no more: a person's decision is refused, and changes nothing.
    late = await decide(owner, approval_ids[0], True)
    assert late.codes == ["CONFLICT"]

    # As many sweeps at once as replicas and workers might run (each its own connection).
    await asyncio.gather(*(services.approvals.expire_due() for _ in range(6)))

    decided = await events_of(services, agent_id, *DECIDED)
    assert sorted(e["approvalId"] for e in decided) == sorted(approval_ids)
    assert {e["state"] for e in decided} == {"EXPIRED"}
    for task in tasks:
        seen = (await owner.run(TASK, id=task["id"]))["task"]
        assert seen["state"] == "CANCELLED" and seen["approval"]["state"] == "EXPIRED"
        assert seen["error"] == "Approval expired: nobody decided within 600 s"
    completions = await events_of(services, agent_id, AgentEventType.TASK_COMPLETE)
    assert sorted(e["taskId"] for e in completions) == sorted(t["id"] for t in tasks)
    replay = await send(owner, agent_id, "deploy", key="late")
    assert replay["success"] is False and replay["approval"]["state"] == "EXPIRED"
    assert replay["error"].startswith("Approval expired")
    assert len(await events_of(services, agent_id, *RESULTS)) == 1


async def test_the_periodic_sweep_expires_them_on_time(database_url: str, tmp_path: Any) -> None:
    settings = task_settings(database_url, tmp_path / "data", task_sweep_seconds=0.05)
    async with running_app(settings) as app, client_at(app) as client:
        services = services_of(app)
        await person(client, "admin@example.com")
        owner = await person(client, "owner@example.com")
        agent_id = await owner.agent({"taskTypes": ["echo"], "timeoutSeconds": 1})
        made = await owner.run(ENQUEUE, agentId=agent_id, input={"type": "echo"})
        task = made["enqueueTask"]
        started = asyncio.get_running_loop().time()
        ended = await row_in(services, task["id"], TaskState.CANCELLED, timeout=5)
        assert asyncio.get_running_loop().time() - started < 3
        assert ended.error == "Approval expired: nobody decided within 1 s"
        assert (await services.approvals.get(approval_id=task["approval"]["id"])).state.value == (  # type: ignore[union-attr]
            "EXPIRED"
        )


async def test_two_people_deciding_at_once_exactly_one_wins(
    owner: Person, admin: Person, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent_id = await owner.agent()
    task = (await owner.run(ENQUEUE, agentId=agent_id, input={"type": "echo"}))["enqueueTask"]
    approval_id = task["approval"]["id"]
    both_in = asyncio.Barrier(2)
    original = services.approvals.decide

    async def together(**arguments: Any) -> Any:
        # Both requests are past every check, having read it PENDING, before either decides.
        await both_in.wait()
        return await original(**arguments)

    monkeypatch.setattr(services.approvals, "decide", together)
    answers = await asyncio.gather(
        decide(owner, approval_id, True, "go"), decide(admin, approval_id, False, "stop")
    )

    assert sorted(answer.codes for answer in answers) == [[], ["CONFLICT"]]
    (won,) = [a.data["decideApproval"] for a in answers if not a.errors]
    stored = await services.approvals.get(approval_id=approval_id)
    assert stored is not None and stored.state.value == won["state"]
    (event,) = await events_of(services, agent_id, *DECIDED)
    assert event["state"] == won["state"] and event["reason"] == won["reason"]
    final = TaskState.COMPLETED if won["state"] == "APPROVED" else TaskState.CANCELLED
    await row_in(services, task["id"], final)
    moved = await events_of(services, agent_id, AgentEventType.TASK_COMPLETE)
    assert [e["taskId"] for e in moved] == [task["id"]]


async def test_an_approved_command_whose_process_died_ends_failed_once(
    owner: Person, services: Services
) -> None:
    agent_id = await owner.agent()
    held = await send(owner, agent_id, "deploy", key="orphan")
    approval_id = held["approval"]["id"]
    # Approved by a process that died before it ran the command, an hour ago.
    async with transaction(services.sessionmaker) as session:
        await session.execute(
            update(ApprovalRow)
            .where(col(ApprovalRow.id) == approval_id)
            .values(state="APPROVED", decided_at=datetime.now(UTC) - timedelta(hours=1))
        )
    await asyncio.gather(*(services.approvals.expire_due() for _ in range(3)))
    (result,) = await events_of(services, agent_id, *RESULTS)
    assert result["success"] is False and result["approvalId"] == approval_id
    assert result["error"].startswith("no outcome: the server running it stopped")
    replay = await send(owner, agent_id, "deploy", key="orphan")
    assert replay["success"] is False and replay["error"] == result["error"]


async def test_an_approved_command_of_an_agent_that_stopped_meanwhile_fails_saying_so(
    owner: Person, services: Services
) -> None:
    agent_id = await owner.agent()
    held = await send(owner, agent_id, "deploy")
    await owner.run(STOP, id=agent_id)
    (await decide(owner, held["approval"]["id"], True)).ok()

    async def failed() -> list[dict[str, Any]] | None:
        return await events_of(services, agent_id, *RESULTS) or None

    (result,) = await eventually(failed)
    assert result["success"] is False
    assert result["error"] == "The agent was STOPPED, not RUNNING, when it was approved."


async def test_cancelling_a_task_that_awaits_approval_withdraws_its_approval(
    owner: Person, services: Services
) -> None:
    agent_id = await owner.agent()
    task = (await owner.run(ENQUEUE, agentId=agent_id, input={"type": "echo"}))["enqueueTask"]
    cancelled = (await owner.run(CANCEL, id=task["id"]))["cancelTask"]
    assert cancelled["state"] == "CANCELLED"
    assert cancelled["error"] == "Approval rejected: withdrawn: the task was cancelled"
    approval = (await owner.run(APPROVAL, id=task["approval"]["id"]))["approval"]
    assert approval["state"] == "REJECTED" and approval["decidedBy"]["email"] == owner.email
    late = await decide(owner, approval["id"], True)
    assert late.codes == ["CONFLICT"]


async def test_a_schedule_cannot_run_a_task_type_the_policy_names_past_its_approval(
    owner: Person, services: Services
) -> None:
    agent_id = await owner.agent()
    made = await owner.run(
        CREATE_SCHEDULE,
        input={
            "name": "nightly",
            "agentId": agent_id,
            "cron": "0 3 * * *",
            "task": {"type": "echo"},
        },
    )
    run = (await owner.run(RUN_NOW, id=made["createSchedule"]["id"]))["runScheduleNow"]
    assert run["state"] == "AWAITING_APPROVAL"
    assert run["approval"]["kind"] == "TASK"
    assert run["approval"]["requestedBy"] == {"email": owner.email}


async def test_a_person_sees_the_work_with_its_secrets_hidden_and_it_runs_with_them(
    owner: Person, services: Services
) -> None:
    agent_id = await owner.agent()
    held = await send(owner, agent_id, "deploy", apiKey="s3cret", region="eu")
    approval = held["approval"]
    assert approval["subject"]["params"] == {"apiKey": "[redacted]", "region": "eu"}
    (requested,) = await events_of(services, agent_id, *REQUESTED)
    assert "s3cret" not in str(requested)
    task = await owner.run(
        ENQUEUE, agentId=agent_id, input={"type": "echo", "payload": {"token": "t0k", "n": 1}}
    )
    assert task["enqueueTask"]["approval"]["subject"]["payload"] == {
        "token": "[redacted]",
        "n": 1,
    }
    (await decide(owner, approval["id"], True)).ok()

    async def ran() -> list[dict[str, Any]] | None:
        return await events_of(services, agent_id, *RESULTS) or None

    (result,) = await eventually(ran)
    assert result["result"] == {"echo": "deploy", "params": {"apiKey": "s3cret", "region": "eu"}}


async def test_the_live_feed_catches_up_what_a_broken_broker_connection_lost(
    owner: Person, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent_id = await owner.agent()
    principal, _ = await services.authenticator.authenticate_user(owner.token)
    # The feed listens, then reads what is pending (from a few seconds back): only once it
    # has read is an approval made next one that only an announcement could bring it (a
    # fixed pause could end first on a busy machine, and the read find the "lost" one).
    pending_since = services.approvals.pending_since
    read = asyncio.Event()

    async def reading(**criteria: Any) -> Any:
        found = await pending_since(**criteria)
        read.set()
        return found

    monkeypatch.setattr(services.approvals, "pending_since", reading)
    feed = services.approvals.requests(principal=principal)
    first = asyncio.create_task(anext(feed))
    await asyncio.wait_for(read.wait(), 10)
    publish = services.hub.publish

    async def losing_announcements(channel: str, message: dict[str, Any]) -> bool:
        return False if channel.startswith("approvals:") else await publish(channel, message)

    monkeypatch.setattr(services.hub, "publish", losing_announcements)
    lost = (await send(owner, agent_id, "deploy"))["approval"]["id"]
    await asyncio.sleep(0.2)
    assert not first.done()
    monkeypatch.setattr(services.hub, "publish", publish)
    # What the hub tells its subscribers once its broker connection is back.
    services.hub._interrupt_all()
    assert (await asyncio.wait_for(first, 5)).id == lost
    announced = (await send(owner, agent_id, "deploy"))["approval"]["id"]
    assert (await asyncio.wait_for(anext(feed), 5)).id == announced  # and no repeat
    await feed.aclose()


LEADS = """
query Leads($id: ID!) {
  approval(id: $id) { state task { id state } commandResult { success result error } }
}
"""
PAGE_OF_LEADS = """
query PageOfLeads($first: Int) {
  approvals(first: $first) { edges { node { id task { id state } commandResult { success } } } }
}
"""


async def leads_of(who: Person, approval_id: str) -> Any:
    return (await who.run(LEADS, id=approval_id))["approval"]


async def test_an_approval_leads_to_the_work_it_gated_and_what_came_of_it(
    owner: Person, services: Services
) -> None:
    agent_id = await owner.agent()
    held = (await send(owner, agent_id, "deploy", version=1))["approval"]["id"]
    refused = (await send(owner, agent_id, "deploy", version=2))["approval"]["id"]
    task = (await owner.run(ENQUEUE, agentId=agent_id, input={"type": "echo"}))["enqueueTask"]
    # While they wait: the task is there, held; a command has no outcome yet.
    assert await leads_of(owner, held) == {"state": "PENDING", "task": None, "commandResult": None}
    waiting = await leads_of(owner, task["approval"]["id"])
    assert waiting["task"] == {"id": task["id"], "state": "AWAITING_APPROVAL"}
    assert waiting["commandResult"] is None

    (await decide(owner, held, True)).ok()
    (await decide(owner, refused, False, "not now")).ok()
    (await decide(owner, task["approval"]["id"], True)).ok()

    async def outcome() -> Any:
        return (await leads_of(owner, held))["commandResult"]

    ran = await eventually(outcome)
    assert ran == {
        "success": True,
        "result": {"echo": "deploy", "params": {"version": 1}},
        "error": None,
    }
    assert (await leads_of(owner, refused))["commandResult"] == {
        "success": False,
        "result": None,
        "error": "Approval rejected: not now",
    }
    await row_in(services, task["id"], TaskState.COMPLETED)
    assert (await leads_of(owner, task["approval"]["id"]))["task"]["state"] == "COMPLETED"


async def test_a_page_of_approvals_reads_their_tasks_and_commands_at_once(
    database_url: str, tmp_path: Any
) -> None:
    # Its own server with the periodic sweeps and ticks quiet: the count is of every
    # statement the engine sends, and theirs would land in one count and not the other.
    settings = make_settings(database_url, tmp_path / "quiet", **QUIET_HOUSEKEEPING)
    async with running_app(settings) as app, client_at(app) as client:
        owner = await person(client, "owner@example.com")
        await _count_a_page_of_leads(app, owner)


async def _count_a_page_of_leads(app: Any, owner: Person) -> None:
    agent_id = await owner.agent()

    async def gate(count: int) -> None:
        for n in range(count):
            await send(owner, agent_id, "deploy", version=n)
            await owner.run(ENQUEUE, agentId=agent_id, input={"type": "echo"})

    await gate(1)
    with counting_statements(app) as two:
        page = (await owner.run(PAGE_OF_LEADS, first=50))["approvals"]["edges"]
    assert len(page) == 2
    await gate(4)
    with counting_statements(app) as ten:
        page = (await owner.run(PAGE_OF_LEADS, first=50))["approvals"]["edges"]
    assert len(page) == 10 and sum(edge["node"]["task"] is not None for edge in page) == 5
    assert len(ten) == len(two)


async def test_an_approval_s_task_needs_task_read(owner: Person) -> None:
    agent_id = await owner.agent()
    task = (await owner.run(ENQUEUE, agentId=agent_id, input={"type": "echo"}))["enqueueTask"]
    key = await owner.key("agent.read")
    answer = await owner.attempt(LEADS, token=key, id=task["approval"]["id"])
    assert answer.codes == ["FORBIDDEN"]
    assert answer.data["approval"]["task"] is None and answer.data["approval"]["state"] == "PENDING"
