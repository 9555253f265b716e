"""What a decision does to the work its approval gates, written in the decision's own
transaction, so that the work moves with the approval or not at all:

- TASK: AWAITING_APPROVAL becomes PENDING (approved: the caller then sends its wake-up)
  or CANCELLED with the refusal as its error; a TASK_PROGRESS or TASK_COMPLETE event.
- COMMAND: refused, its record ends failed with a COMMAND_RESULT event carrying the
  approval's id (a repeated idempotency key answers it); approved, the caller runs it
  once the decision has committed (kai.services.approval).
- ACTION: the decision goes to the agent's process through its inbox (kind APPROVAL),
  after the commit; a process that was away reads it with approval(id).

Every decision, expiry included, is an APPROVAL_DECIDED event before those.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from kai.events.log import EventTransaction
from kai.models.agent_event import AgentEventType
from kai.models.approval import Approval, ApprovalKind, ApprovalState
from kai.models.base import new_id
from kai.models.command import CommandRecord
from kai.models.task import Task, TaskState
from kai.runtimes.remote import inbox_channel
from kai.services.command import command_result_data
from kai.services.task_attempts import task_event_data

# The inbox message kind that brings a process the decision on what it asked.
APPROVAL_INBOX_KIND = "APPROVAL"


def decided_event_data(approval: Approval) -> dict[str, Any]:
    return {
        "approvalId": approval.id,
        "kind": approval.kind.value,
        "state": approval.state.value,
        "reason": approval.reason,
        "decidedBy": approval.decided_by,
    }


def refusal(approval: Approval) -> str:
    """The error that work refused by its approval ends with."""
    if approval.state is ApprovalState.EXPIRED:
        return f"Approval expired: {approval.reason}"
    return f"Approval rejected: {approval.reason or 'no reason given'}"


def decision_message(approval: Approval, now: datetime) -> dict[str, Any]:
    """The inbox message (as the hub carries it) telling a process its decision."""
    return {
        "id": new_id("msg"),
        "kind": APPROVAL_INBOX_KIND,
        "payload": {
            "approvalId": approval.id,
            "state": approval.state.value,
            "reason": approval.reason,
        },
        "timestamp": now.isoformat(),
    }


async def settle(written: EventTransaction, approval: Approval, now: datetime) -> None:
    """The decided `approval`'s event and its work's move, in `written`'s transaction."""
    await written.append(
        agent_id=approval.agent_id,
        type=AgentEventType.APPROVAL_DECIDED,
        data=decided_event_data(approval),
    )
    if approval.kind is ApprovalKind.TASK and approval.task_id is not None:
        await _settle_task(written, approval, approval.task_id, now)
    elif approval.kind is ApprovalKind.COMMAND and approval.command_id is not None:
        if approval.state is not ApprovalState.APPROVED:
            await _refuse_command(written, approval, approval.command_id, now)
    elif approval.kind is ApprovalKind.ACTION:
        written.notify(inbox_channel(approval.agent_id), decision_message(approval, now))


async def _settle_task(
    written: EventTransaction, approval: Approval, task_id: str, now: datetime
) -> None:
    if approval.state is ApprovalState.APPROVED:
        # Undispatched: the decider sends its wake-up after the commit, or the sweep does.
        values: dict[str, Any] = {"state": TaskState.PENDING, "dispatched": False}
        event = AgentEventType.TASK_PROGRESS
    else:
        values = {"state": TaskState.CANCELLED, "error": refusal(approval), "completed_at": now}
        event = AgentEventType.TASK_COMPLETE
    moved = await written.session.scalars(
        update(Task)
        .where(col(Task.id) == task_id, col(Task.state) == TaskState.AWAITING_APPROVAL)
        .values(values)
        .returning(Task)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    task = moved.one_or_none()
    if task is not None:
        await written.append(agent_id=approval.agent_id, type=event, data=task_event_data(task))


async def _refuse_command(
    written: EventTransaction, approval: Approval, command_id: str, now: datetime
) -> None:
    values = {
        "success": False,
        "error": refusal(approval),
        "duration_ms": 0.0,
        "completed_at": now,
    }
    finished = await written.session.scalars(
        update(CommandRecord)
        .where(col(CommandRecord.id) == command_id, col(CommandRecord.completed_at).is_(None))
        .values(values)
        .returning(CommandRecord)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    record = finished.one_or_none()
    if record is not None:
        await written.append(
            agent_id=approval.agent_id,
            type=AgentEventType.COMMAND_RESULT,
            data=command_result_data(record, approval_id=approval.id),
        )
