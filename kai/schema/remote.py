from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from kai.runtimes.remote import InboxKind as RuntimeInboxKind
from kai.schema.enums import described_enum
from kai.services.approval_outcome import APPROVAL_INBOX_KIND

# What runtimes send a process, and the decision on an approval it asked for (which the
# approvals send, kai.services.approval_outcome, not a runtime).
InboxKindValue = enum.StrEnum(  # type: ignore[misc]
    "InboxKindValue",
    [(kind.name, kind.value) for kind in RuntimeInboxKind]
    + [(APPROVAL_INBOX_KIND, APPROVAL_INBOX_KIND)],
)

InboxKind = described_enum(
    InboxKindValue,
    name="InboxKind",
    description="What an inbox message asks of the process.",
    values={
        "COMMAND": "Run a command and answer with agentReply.",
        "PROMPT": (
            "Answer a prompt in pieces with agentStreamChunk (agentReply only reports a failure)."
        ),
        "TASK": "Run a task and report on it with agentTaskProgress.",
        "RESTART": "Reconnect: this inbox ends; subscribe to agentInbox again. Not answered.",
        "STOP": "Exit: the agent was stopped or deleted and this inbox ends. Not answered.",
        "APPROVAL": (
            "The decision on an approval the process asked for with requestApproval; "
            "payload: {approvalId, state, reason}. Not answered."
        ),
    },
)


@strawberry.type(description="Work routed to a remote agent's process.")
class InboxMessage:
    id: strawberry.ID = strawberry.field(
        description="Answer with agentReply / agentStreamChunk(messageId: id)."
    )
    kind: InboxKind = strawberry.field(description="What is asked.")  # type: ignore[valid-type]
    payload: JSON = strawberry.field(
        description=(
            "COMMAND: {command, params}; PROMPT: {prompt, options}; TASK: {taskId, type, "
            "payload}; APPROVAL: {approvalId, state, reason}."
        )
    )
    timestamp: datetime = strawberry.field(description="When it was sent.")

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> InboxMessage:
        return cls(
            id=strawberry.ID(str(message["id"])),
            kind=InboxKindValue(message["kind"]),
            payload=JSON(message.get("payload") or {}),
            timestamp=datetime.fromisoformat(str(message["timestamp"])),
        )
