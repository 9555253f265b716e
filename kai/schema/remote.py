from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from kai.runtimes.remote import InboxKind as InboxKindValue

InboxKind = strawberry.enum(
    InboxKindValue, name="InboxKind", description="What an inbox message asks of the process."
)


@strawberry.type(description="Work routed to a remote agent's process.")
class InboxMessage:
    id: strawberry.ID = strawberry.field(
        description="Answer with agentReply / agentStreamChunk(messageId: id)."
    )
    kind: InboxKind = strawberry.field(description="What is asked.")  # type: ignore[valid-type]
    payload: JSON = strawberry.field(
        description=(
            "COMMAND: {command, params}; PROMPT: {prompt, options}; TASK: {taskId, type, payload}."
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
