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
    DECIDE,
    ENQUEUE,
    SEND,
    TASK,
    Person,
    approvals_stored,
    events_of,
    person,
)
from tests.support.apps import services_of
from tests.support.graphql_client import GraphQLClient
from tests.support.tasks import eventually, row_in

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
    """Its time is up (as if the clock had gone past it)."""
    async with transaction(services.sessionmaker) as session:
        await session.execute(
            update(ApprovalRow)
            .where(col(ApprovalRow.id) == approval_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
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
