"""Who may see, decide and ask for approvals, and what they may not send, on SQLite and
PostgreSQL: other users' approvals do not exist for them; deciding needs approval.decide on
the agent and never the API key that asked; a remote agent's process asks only for its own
agent and reads only what it asked; bad input is BAD_USER_INPUT naming the field, a full
cap QUOTA_EXCEEDED, and either keeps nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from kai.models.agent import Agent as AgentRow
from kai.models.agent_event import AgentEventType
from kai.models.command import CommandRecord
from kai.models.task import Task as TaskRow
from kai.services.shared import Services
from tests.support.approvals import (
    APPROVAL,
    APPROVALS,
    CREATE_AGENT,
    DECIDE,
    ENQUEUE,
    REQUEST,
    SEND,
    UPDATE_AGENT,
    Person,
    approvals_stored,
    error_field,
    events_of,
    person,
)
from tests.support.apps import client_at, running_app, services_of
from tests.support.graphql_client import GraphQLClient
from tests.support.settings import make_settings

NODE = "query Node($id: ID!) { node(id: $id) { id ... on Approval { state kind } } }"
WEEK = 7 * 24 * 3600


@pytest.fixture
def services(app: Any) -> Services:
    return services_of(app)


@pytest.fixture
async def admin(client: GraphQLClient) -> Person:
    return await person(client, "admin@example.com")  # the first account: ADMIN


@pytest.fixture
async def owner(client: GraphQLClient, admin: Person) -> Person:
    return await person(client, "owner@example.com")


async def held_command(owner: Person, agent_id: str, **params: Any) -> str:
    variables: dict[str, Any] = {
        "agentId": agent_id,
        "command": {"command": "deploy", "params": params},
    }
    return str((await owner.run(SEND, **variables))["sendCommand"]["approval"]["id"])


async def rows(services: Services, table: Any) -> int:
    async with services.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_G10_other_users_approvals_do_not_exist_for_them(
    client: GraphQLClient, owner: Person, admin: Person
) -> None:
    other = await person(client, "other@example.com")
    agent_id = await owner.agent()
    approval_id = await held_command(owner, agent_id)

    assert (await other.attempt(APPROVAL, id=approval_id)).codes == ["NOT_FOUND"]
    assert (await other.attempt(NODE, id=approval_id)).codes == ["NOT_FOUND"]
    assert (await other.attempt(DECIDE, id=approval_id, approve=True)).codes == ["NOT_FOUND"]
    assert (await other.run(APPROVALS))["approvals"]["totalCount"] == 0
    mine = await other.attempt(APPROVALS, filter={"agentId": agent_id})
    assert mine.codes == ["NOT_FOUND"]
    # Its owner, and ADMIN, see it; ADMIN may decide any agent's.
    assert (await owner.run(NODE, id=approval_id))["node"]["kind"] == "COMMAND"
    everyone = (await admin.run(APPROVALS))["approvals"]
    assert [edge["node"]["id"] for edge in everyone["edges"]] == [approval_id]
    decided = (await admin.run(DECIDE, id=approval_id, approve=False))["decideApproval"]
    assert decided["decidedBy"] == {"email": admin.email}
    assert (await owner.run(APPROVAL, id=approval_id))["approval"]["state"] == "REJECTED"


async def test_deciding_needs_approval_decide_on_the_agent(owner: Person) -> None:
    agent_id = await owner.agent()
    another = await owner.agent(name="another")
    approval_id = await held_command(owner, agent_id)

    reader = await owner.key("agent.read")
    refused = await owner.attempt(DECIDE, token=reader, id=approval_id, approve=True)
    assert refused.codes == ["FORBIDDEN"]
    assert refused.errors[0]["extensions"]["permission"] == "approval.decide"
    # A key limited to another agent sees none of this one's.
    elsewhere = await owner.key("agent.read", "approval.decide", agent_ids=[another])
    hidden = await owner.attempt(DECIDE, token=elsewhere, id=approval_id, approve=True)
    assert hidden.codes == ["NOT_FOUND"]
    assert (await owner.attempt(APPROVAL, token=elsewhere, id=approval_id)).codes == ["NOT_FOUND"]
    listed = (await owner.run(APPROVALS, token=elsewhere))["approvals"]
    assert listed["totalCount"] == 0
    assert (await owner.run(APPROVAL, id=approval_id))["approval"]["state"] == "PENDING"
    # A key for this agent with approval.decide decides it.
    decider = await owner.key("agent.read", "approval.decide", agent_ids=[agent_id])
    decided = await owner.run(DECIDE, token=decider, id=approval_id, approve=True)
    assert decided["decideApproval"]["state"] == "APPROVED"


async def test_the_api_key_that_asked_never_decides(owner: Person, services: Services) -> None:
    agent_id = await owner.agent(None, type="remote", name="remote")
    # A process given too wide a key: it could decide approvals, but not its own.
    process = await owner.key("agent.command", "approval.decide", agent_ids=[agent_id])
    asked = await owner.run(REQUEST, token=process, agentId=agent_id, subject={"rm": "/srv"})
    approval = asked["requestApproval"]
    assert approval["kind"] == "ACTION" and approval["subject"] == {"rm": "/srv"}
    assert approval["requestedBy"] == {"email": owner.email} and approval["state"] == "PENDING"

    refused = await owner.attempt(DECIDE, token=process, id=approval["id"], approve=True)
    assert refused.codes == ["FORBIDDEN"]
    assert "the API key that asked" in refused.errors[0]["message"]
    assert (await owner.run(APPROVAL, id=approval["id"]))["approval"]["state"] == "PENDING"
    assert await events_of(services, agent_id, AgentEventType.APPROVAL_DECIDED) == []
    decided = await owner.run(DECIDE, id=approval["id"], approve=True)
    assert decided["decideApproval"]["state"] == "APPROVED"


async def test_a_process_asks_for_its_own_agent_and_reads_only_what_it_asked(
    owner: Person,
) -> None:
    remote = await owner.agent(None, type="remote", name="remote")
    gated = await owner.agent()
    # What a process needs and no more: agent.command on its one agent.
    process = await owner.key("agent.command", agent_ids=[remote])
    asked = await owner.run(REQUEST, token=process, agentId=remote, subject="may I?")
    approval_id = asked["requestApproval"]["id"]
    seen = await owner.run(APPROVAL, token=process, id=approval_id)
    assert seen["approval"]["state"] == "PENDING"
    # Not for another agent, nor an agent that has no process.
    other = await owner.attempt(REQUEST, token=process, agentId=gated, subject="x")
    assert other.codes == ["NOT_FOUND"]
    not_remote = await owner.attempt(REQUEST, agentId=gated, subject="x")
    assert error_field(not_remote) == (["BAD_USER_INPUT"], "agentId")
    # Approvals it did not ask about are not its to read, nor is the list.
    wide = await owner.key("agent.command")
    command_approval = await held_command(owner, gated)
    assert (await owner.attempt(APPROVAL, token=wide, id=command_approval)).codes == ["FORBIDDEN"]
    assert (await owner.attempt(APPROVALS, token=process)).codes == ["FORBIDDEN"]


async def test_lists_filter_by_agent_state_and_kind_and_page(owner: Person) -> None:
    first_agent = await owner.agent(name="a")
    second_agent = await owner.agent(name="b")
    commands = [await held_command(owner, first_agent, n=n) for n in range(3)]
    task = await owner.run(ENQUEUE, agentId=second_agent, input={"type": "echo"})
    task_approval = task["enqueueTask"]["approval"]["id"]
    await owner.run(DECIDE, id=commands[0], approve=False)

    async def listed(**filter: Any) -> list[str]:
        page = (await owner.run(APPROVALS, filter=filter))["approvals"]
        return [edge["node"]["id"] for edge in page["edges"]]

    assert await listed() == [task_approval, *reversed(commands)]  # newest first
    assert await listed(agentId=second_agent) == [task_approval]
    assert await listed(kinds=["COMMAND"], states=["PENDING"]) == [commands[2], commands[1]]
    assert await listed(states=["REJECTED"]) == [commands[0]]
    assert await listed(kinds=[]) == []
    page = (await owner.run(APPROVALS, first=2))["approvals"]
    assert page["totalCount"] == 4 and page["pageInfo"]["hasNextPage"] is True
    after = page["pageInfo"]["endCursor"]
    rest = (await owner.run(APPROVALS, first=2, after=after))["approvals"]
    assert [edge["node"]["id"] for edge in rest["edges"]] == [commands[1], commands[0]]


async def test_the_policy_is_shown_and_replaced_whole(owner: Person) -> None:
    plain = await owner.run(CREATE_AGENT, input={"name": "plain", "type": "echo"})
    assert plain["createAgent"]["approvalPolicy"] == {
        "commands": [],
        "taskTypes": [],
        "timeoutSeconds": 3600,
    }
    agent_id = plain["createAgent"]["id"]
    changed = await owner.run(
        UPDATE_AGENT, id=agent_id, input={"approvalPolicy": {"commands": ["*", " deploy "]}}
    )
    policy = changed["updateAgent"]["approvalPolicy"]
    assert policy == {"commands": ["*", "deploy"], "taskTypes": [], "timeoutSeconds": 3600}
    sent = await owner.run(SEND, agentId=agent_id, command={"command": "anything"})
    assert sent["sendCommand"]["approval"]["state"] == "PENDING"
    # A patch without approvalPolicy leaves it alone.
    renamed = await owner.run(UPDATE_AGENT, id=agent_id, input={"name": "renamed"})
    assert renamed["updateAgent"]["approvalPolicy"] == policy


BAD_POLICIES = [
    ({"timeoutSeconds": 0}, "timeoutSeconds"),
    ({"timeoutSeconds": WEEK + 1}, "timeoutSeconds"),
    ({"commands": [""]}, "commands"),
    ({"commands": [f"c{n}" for n in range(101)]}, "commands"),
    ({"commands": ["x" * 201]}, "commands"),
    ({"taskTypes": ["t" * 65]}, "taskTypes"),
]


@pytest.mark.parametrize(("policy", "field"), BAD_POLICIES)
async def test_a_policy_that_does_not_hold_is_refused_naming_the_field(
    owner: Person, services: Services, policy: dict[str, Any], field: str
) -> None:
    created = await owner.attempt(
        CREATE_AGENT, input={"name": "x", "type": "echo", "approvalPolicy": policy}
    )
    assert error_field(created) == (["BAD_USER_INPUT"], f"input.approvalPolicy.{field}")
    assert await rows(services, AgentRow) == 0
    agent_id = await owner.agent()
    updated = await owner.attempt(UPDATE_AGENT, id=agent_id, input={"approvalPolicy": policy})
    assert error_field(updated) == (["BAD_USER_INPUT"], f"input.approvalPolicy.{field}")
    kept = await owner.run(APPROVALS)  # the stored policy still holds
    sent = await owner.run(SEND, agentId=agent_id, command={"command": "deploy"})
    assert sent["sendCommand"]["approval"] is not None and kept["approvals"]["totalCount"] == 0


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels - 1):
        value = [value]
    return value


async def test_what_a_process_may_not_ask_is_refused_naming_the_field_and_keeps_nothing(
    owner: Person, services: Services
) -> None:
    remote = await owner.agent(None, type="remote", name="remote")
    for timeout in (0, -5, 0.5, WEEK + 1, 1e300):
        answer = await owner.attempt(REQUEST, agentId=remote, subject="x", timeoutSeconds=timeout)
        assert error_field(answer) == (["BAD_USER_INPUT"], "timeoutSeconds"), timeout
    for subject in ({"text": "x" * 64 * 1024}, deep(17), ["y" * 1000] * 70):
        answer = await owner.attempt(REQUEST, agentId=remote, subject=subject)
        assert error_field(answer) == (["BAD_USER_INPUT"], "subject")
    assert await approvals_stored(services) == 0
    assert await events_of(services, remote, AgentEventType.APPROVAL_REQUESTED) == []
    # At the limits, it is taken.
    taken = await owner.run(REQUEST, agentId=remote, subject=deep(16), timeoutSeconds=WEEK)
    assert taken["requestApproval"]["state"] == "PENDING"


async def test_work_whose_subject_is_too_big_for_a_person_is_refused_and_keeps_nothing(
    owner: Person, services: Services
) -> None:
    agent_id = await owner.agent()
    big = {"blob": "z" * 64 * 1024}
    command = await owner.attempt(
        SEND, agentId=agent_id, command={"command": "deploy", "params": big}
    )
    assert error_field(command) == (["BAD_USER_INPUT"], "command.params")
    task = await owner.attempt(ENQUEUE, agentId=agent_id, input={"type": "echo", "payload": big})
    assert error_field(task) == (["BAD_USER_INPUT"], "input.payload")
    assert await rows(services, CommandRecord) == 0 and await rows(services, TaskRow) == 0
    assert await approvals_stored(services) == 0


async def test_a_reason_too_long_is_refused_and_the_approval_stays_pending(
    owner: Person, services: Services
) -> None:
    agent_id = await owner.agent()
    approval_id = await held_command(owner, agent_id)
    refused = await owner.attempt(DECIDE, id=approval_id, approve=True, reason="r" * 1001)
    assert error_field(refused) == (["BAD_USER_INPUT"], "reason")
    assert (await owner.run(APPROVAL, id=approval_id))["approval"]["state"] == "PENDING"
    assert await events_of(services, agent_id, AgentEventType.APPROVAL_DECIDED) == []


async def test_q1_pending_approvals_per_user_are_capped(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path / "data", quota_pending_approvals_per_user=2)
    async with running_app(settings) as app, client_at(app) as client:
        services = services_of(app)
        await person(client, "admin@example.com")
        owner = await person(client, "owner@example.com")
        remote = await owner.agent(None, type="remote", name="remote")
        gated = await owner.agent()
        first = await owner.run(REQUEST, agentId=remote, subject=1)
        await owner.run(REQUEST, agentId=remote, subject=2)

        for refused in (
            await owner.attempt(REQUEST, agentId=remote, subject=3),
            await owner.attempt(SEND, agentId=gated, command={"command": "deploy"}),
            await owner.attempt(ENQUEUE, agentId=gated, input={"type": "echo"}),
        ):
            assert refused.codes == ["QUOTA_EXCEEDED"]
            extensions = refused.errors[0]["extensions"]
            assert extensions["quota"] == "pendingApprovals" and extensions["limit"] == 2
        assert await approvals_stored(services) == 2
        assert await rows(services, CommandRecord) == 0 and await rows(services, TaskRow) == 0
        # A decided one makes room.
        await owner.run(DECIDE, id=first["requestApproval"]["id"], approve=False)
        again = await owner.run(REQUEST, agentId=remote, subject=3)
        assert again["requestApproval"]["state"] == "PENDING"
