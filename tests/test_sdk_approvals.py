"""kai_sdk's `agent.request_approval` without a server: the question sent, the decision
taken from the inbox (even one that comes before the question's answer), a missed one found
by asking, and an unanswered one ending EXPIRED, never approved. End to end against a real
server: tests/test_approval_remote.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import kai_sdk.approvals
from kai_sdk import ConnectionLost, Decision, RemoteAgent, RemoteAgentError
from kai_sdk.approvals import APPROVAL, REQUEST_APPROVAL

AGENT_ID = "agt_1"
CREATED = "2026-12-05T10:00:00Z"


class FakeServer:
    """Answers requestApproval and approval(id) like kAI; `on_request` runs as the question
    is asked, before its answer returns (a person quicker than the network)."""

    def __init__(self, *, open_for: int = 60, state: str = "PENDING"):
        self.open_for = open_for
        self.state = state
        self.reason: str | None = None
        self.asked: list[dict[str, Any]] = []
        self.looks = 0
        self.on_request: Any = None

    async def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        if query == REQUEST_APPROVAL:
            self.asked.append(variables)
            if self.on_request is not None:
                self.on_request()
            expires = f"2026-12-05T10:{self.open_for // 60:02d}:{self.open_for % 60:02d}Z"
            approval = {"id": "apr_1", "state": "PENDING", "reason": None}
            return {"requestApproval": {**approval, "createdAt": CREATED, "expiresAt": expires}}
        assert query == APPROVAL and variables == {"id": "apr_1"}
        self.looks += 1
        return {"approval": {"id": "apr_1", "state": self.state, "reason": self.reason}}


def attached(server: FakeServer, **options: Any) -> RemoteAgent:
    """An agent as its connection loop leaves it while attached."""
    agent = RemoteAgent(**options)
    agent._api, agent._agent_id = server, AGENT_ID
    return agent


def decision_message(state: str, reason: str | None = None) -> dict[str, Any]:
    payload = {"approvalId": "apr_1", "state": state, "reason": reason}
    return {"id": "msg_9", "kind": "APPROVAL", "payload": payload}


async def test_the_decision_comes_through_the_inbox() -> None:
    server = FakeServer()
    agent = attached(server)
    asking = asyncio.create_task(agent.request_approval({"rm": "/tmp/x"}, timeout=60))
    await asyncio.sleep(0.05)
    assert not asking.done()
    await agent.handle_message(decision_message("APPROVED", "fine"), server)

    decision = await asyncio.wait_for(asking, 1)
    assert decision == Decision("apr_1", "APPROVED", "fine")
    assert decision.approved and bool(decision)
    assert server.asked == [
        {"agentId": AGENT_ID, "subject": {"rm": "/tmp/x"}, "timeoutSeconds": 60}
    ]
    assert server.looks == 0


async def test_a_decision_quicker_than_the_answer_to_the_question_is_not_lost() -> None:
    server = FakeServer()
    agent = attached(server)

    def person_decides_at_once() -> None:
        asyncio.get_running_loop().create_task(
            agent.handle_message(decision_message("REJECTED", "no"), server)
        )

    server.on_request = person_decides_at_once
    decision = await asyncio.wait_for(agent.request_approval("may I?"), 1)
    assert decision == Decision("apr_1", "REJECTED", "no") and not decision


async def test_a_decision_the_inbox_missed_is_found_by_asking() -> None:
    server = FakeServer()
    agent = attached(server, approval_check_seconds=0.05)
    asking = asyncio.create_task(agent.request_approval("may I?"))
    await asyncio.sleep(0.2)
    server.state, server.reason = "APPROVED", "yes"  # decided while the process was away
    decision = await asyncio.wait_for(asking, 1)
    assert decision.approved and decision.reason == "yes" and server.looks >= 2


async def test_an_unanswered_question_ends_expired_never_approved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kai_sdk.approvals, "EXPIRY_GRACE_SECONDS", 0.1)
    server = FakeServer(open_for=1)  # and the server still says PENDING
    agent = attached(server, approval_check_seconds=10)
    started = asyncio.get_running_loop().time()
    decision = await asyncio.wait_for(agent.request_approval("may I?", timeout=1), 5)
    assert decision == Decision("apr_1", "EXPIRED", "no decision in time")
    assert 1.0 <= asyncio.get_running_loop().time() - started < 3
    assert server.looks == 1  # asked once more when its time was up


async def test_asking_needs_a_connection_and_a_refusal_is_raised() -> None:
    with pytest.raises(ConnectionLost):
        await RemoteAgent().request_approval("may I?")

    class Refusing:
        async def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
            raise RemoteAgentError("timeoutSeconds must be 1 to 604800", "BAD_USER_INPUT")

    agent = RemoteAgent()
    agent._api, agent._agent_id = Refusing(), AGENT_ID
    with pytest.raises(RemoteAgentError) as refused:
        await agent.request_approval("x", timeout=0)
    assert refused.value.code == "BAD_USER_INPUT"
