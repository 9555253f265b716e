"""A remote agent's questions to a person: `await agent.request_approval(subject)`.

    decision = await agent.request_approval({"delete": path}, timeout=600)
    if not decision.approved:
        return {"deleted": False, "why": decision.reason}

The process asks with requestApproval; the server puts the question before the people who
may decide it (approvalRequests) and sends the decision to the process's inbox (kind
APPROVAL). A decision sent while the process was away from its inbox is found by asking
approval(id), every `check_seconds` and once the approval's time is up; past that time
nobody can approve it any more, so an unanswered question ends EXPIRED, not approved.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kai_sdk.transport import Api, ConnectionLost, RemoteAgentError

REQUEST_APPROVAL = """
mutation RequestApproval($agentId: ID!, $subject: JSON!, $timeoutSeconds: Float) {
  requestApproval(agentId: $agentId, subject: $subject, timeoutSeconds: $timeoutSeconds) {
    id state reason createdAt expiresAt
  }
}
"""
APPROVAL = "query Approval($id: ID!) { approval(id: $id) { id state reason } }"
# Past an approval's expiry the server's sweep takes up to a few seconds to say so.
EXPIRY_GRACE_SECONDS = 5.0
# Decisions that came before their question's answer did (kept a little while).
EARLY_DECISIONS = 100


# The connection the process holds now, and its agent: ConnectionLost when there is none.
Connected = Callable[[], tuple[Api, str]]
Call = Callable[[Api, str, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Decision:
    """What a person decided: `approved`, or not and why (`state` REJECTED or EXPIRED)."""

    approval_id: str
    state: str
    reason: str | None = None

    @property
    def approved(self) -> bool:
        return self.state == "APPROVED"

    def __bool__(self) -> bool:
        return self.approved


def _decision(approval: dict[str, Any]) -> Decision | None:
    state = str(approval.get("state"))
    if state == "PENDING":
        return None
    reason = approval.get("reason")
    return Decision(str(approval.get("id")), state, reason if isinstance(reason, str) else None)


def _seconds_between(start: Any, end: Any) -> float:
    begun = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
    ends = datetime.fromisoformat(str(end).replace("Z", "+00:00"))
    return max((ends - begun).total_seconds(), 0.0)


class Approvals:
    """The questions one process is waiting on, and their decisions as they come."""

    def __init__(self, *, call: Call, check_seconds: float = 30.0):
        self._call = call
        self.check_seconds = check_seconds
        self._waiting: dict[str, asyncio.Future[Decision]] = {}
        self._early: OrderedDict[str, Decision] = OrderedDict()

    def deliver(self, payload: dict[str, Any]) -> None:
        """An inbox APPROVAL message's payload: {approvalId, state, reason}."""
        decision = _decision({**payload, "id": payload.get("approvalId")})
        if decision is None:
            return
        waiting = self._waiting.get(decision.approval_id)
        if waiting is not None:
            if not waiting.done():
                waiting.set_result(decision)
            return
        # Asked just now: the answer to requestApproval has not come back yet.
        self._early[decision.approval_id] = decision
        while len(self._early) > EARLY_DECISIONS:
            self._early.popitem(last=False)

    async def request(
        self, connected: Connected, subject: Any, *, lifetime: float | None = None
    ) -> Decision:
        """Asks (open `lifetime` seconds; None: the agent's policy's), then waits for the
        decision; RemoteAgentError if the server refuses the question (BAD_USER_INPUT,
        QUOTA_EXCEEDED), ConnectionLost if not connected."""
        api, agent_id = connected()
        variables = {"agentId": agent_id, "subject": subject, "timeoutSeconds": lifetime}
        asked = (await self._call(api, REQUEST_APPROVAL, variables))["requestApproval"]
        decided = _decision(asked)
        if decided is not None:
            return decided
        approval_id = str(asked["id"])
        open_for = _seconds_between(asked["createdAt"], asked["expiresAt"])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + open_for + EXPIRY_GRACE_SECONDS
        future: asyncio.Future[Decision] = loop.create_future()
        self._waiting[approval_id] = future
        if approval_id in self._early:
            future.set_result(self._early.pop(approval_id))
        try:
            return await self._wait(connected, approval_id, future, deadline)
        finally:
            self._waiting.pop(approval_id, None)

    async def _wait(
        self,
        connected: Connected,
        approval_id: str,
        future: asyncio.Future[Decision],
        deadline: float,
    ) -> Decision:
        loop = asyncio.get_running_loop()
        while True:
            remaining = deadline - loop.time()
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(
                    asyncio.shield(future), max(0.0, min(self.check_seconds, remaining))
                )
            decided = await self._look(connected, approval_id)
            if decided is not None:
                return decided
            if loop.time() >= deadline:
                # Its time is up: the server refuses every decision on it now.
                return Decision(approval_id, "EXPIRED", "no decision in time")

    async def _look(self, connected: Connected, approval_id: str) -> Decision | None:
        """The decision as the server has it (a missed inbox message); None while PENDING
        or while it cannot be asked."""
        try:
            api, _ = connected()
            found = (await self._call(api, APPROVAL, {"id": approval_id})).get("approval")
        except (ConnectionLost, RemoteAgentError, TimeoutError):
            return None
        return _decision(found) if isinstance(found, dict) else None
