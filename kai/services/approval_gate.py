"""Opening an approval, in the transaction that makes the work it gates (a command's record,
a task's row) or, for a remote agent's own question, on its own.

Each one is checked before anything is kept: its subject is JSON a person can read (at
most MAX_SUBJECT_BYTES written out, MAX_SUBJECT_DEPTH deep), its time bounded
(kai.services.approval_policy), and its requester under their cap of PENDING approvals,
so that no process can flood the people who decide (Q1). Its APPROVAL_REQUESTED event is
written in the same transaction, and the people who may decide it hear of it once that
has committed (`approvalRequests`: kai.services.approval_requests).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from kai.errors import QuotaExceeded
from kai.events.log import EventTransaction
from kai.models.agent import Agent
from kai.models.agent_event import AgentEventType
from kai.models.approval import Approval, ApprovalKind, ApprovalState
from kai.models.base import utcnow
from kai.services.approval_policy import policy_of
from kai.services.validation import bounded_json

MAX_SUBJECT_BYTES = 64 * 1024
MAX_SUBJECT_DEPTH = 16
# Live announcements of new approvals: the agent's owner's channel, and everyone's (ADMIN).
ALL_REQUESTS = "approvals:all"


def requests_channel(owner_id: str) -> str:
    return f"approvals:owner:{owner_id}"


def instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def checked_subject(value: Any, *, field: str) -> Any:
    """BAD_USER_INPUT naming `field` for a subject too big or too deep to put before a
    person (the JSON scalar's own limits are far wider)."""
    return bounded_json(
        value, field=field, max_bytes=MAX_SUBJECT_BYTES, max_depth=MAX_SUBJECT_DEPTH
    )


def requested_event_data(approval: Approval) -> dict[str, Any]:
    return {
        "approvalId": approval.id,
        "kind": approval.kind.value,
        "subject": approval.subject,
        "requestedBy": approval.requested_by,
        "expiresAt": instant(approval.expires_at),
    }


@dataclass(frozen=True, slots=True)
class ApprovalGate:
    """What opens approvals: CommandService, TaskService and ApprovalService share one."""

    # PENDING approvals one user may have requested at once.
    pending_per_user: int = 100

    async def open(
        self,
        written: EventTransaction,
        *,
        agent: Agent,
        kind: ApprovalKind,
        subject: Any,
        requested_by: str,
        requested_with_key: str | None,
        field: str,
        timeout_seconds: float | None = None,
        command_id: str | None = None,
        task_id: str | None = None,
    ) -> Approval:
        """A PENDING approval, in `written`'s transaction; `field` names the input that
        made the subject, `timeout_seconds` (checked by the caller) replaces the agent's
        policy's. QUOTA_EXCEEDED past the requester's cap, and then nothing of the
        transaction is kept."""
        now = utcnow()
        timeout = policy_of(agent).timeout_seconds if timeout_seconds is None else timeout_seconds
        approval = Approval(
            agent_id=agent.id,
            kind=kind,
            subject=checked_subject(subject, field=field),
            requested_by=requested_by,
            requested_with_key=requested_with_key,
            command_id=command_id,
            task_id=task_id,
            created_at=now,
            expires_at=now + timedelta(seconds=timeout),
        )
        # The event first: it takes the agent's row lock, so that one agent's requests
        # (a process asking in a loop) count their requester's approvals in turn.
        await written.append(
            agent_id=agent.id,
            type=AgentEventType.APPROVAL_REQUESTED,
            data=requested_event_data(approval),
        )
        await self._within_cap(written, requested_by)
        written.session.add(approval)
        await written.session.flush()
        notice = {"approvalId": approval.id, "agentId": agent.id}
        written.notify(requests_channel(agent.owner_id), notice)
        written.notify(ALL_REQUESTS, notice)
        return approval

    async def _within_cap(self, written: EventTransaction, requested_by: str) -> None:
        waiting = await written.session.scalar(
            select(func.count()).where(
                col(Approval.requested_by) == requested_by,
                col(Approval.state) == ApprovalState.PENDING,
            )
        )
        if (waiting or 0) >= self.pending_per_user:
            raise QuotaExceeded(
                "approvals waiting for a decision",
                quota="pendingApprovals",
                limit=self.pending_per_user,
            )
