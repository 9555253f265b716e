"""What happened to an agent, numbered in order, as its subscribers receive it."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from kai.models.agent_event import AgentEvent as AgentEventRow
from kai.models.agent_event import AgentEventType as AgentEventTypeValue
from kai.schema.enums import described_enum

# The `data` of each type is what kai.services (agent, agent_log, command, task) record.
AgentEventType = described_enum(
    AgentEventTypeValue,
    name="AgentEventType",
    description="What an agent event reports.",
    values={
        "STATUS_UPDATE": "It changed lifecycle state; data: {from, to, reason, error?}.",
        "LOG": "It logged a line; data: {id, level, message, data}.",
        "STREAM_CHUNK": (
            "A piece of its streamed answer to a prompt, its deltas joined (stored once they "
            "reach 1 KB or a second after the last): data: {streamId, index (of its first "
            "delta), delta, done}."
        ),
        "ERROR": "Its answer to a prompt failed; data: {streamId, error}.",
        "COMMAND_RESULT": (
            "A command finished; data: {commandId, command, success, result, error, durationMs}."
        ),
        "TASK_PROGRESS": (
            "One of its tasks started, reported progress or went back to PENDING; "
            "data: {taskId, type, state, progress, attempts, result, error}."
        ),
        "TASK_COMPLETE": (
            "One of its tasks reached a terminal state; "
            "data: {taskId, type, state, progress, attempts, result, error}."
        ),
        "APPROVAL_REQUESTED": (
            "Work of the agent waits for a person; "
            "data: {approvalId, kind, subject, requestedBy, expiresAt}."
        ),
        "APPROVAL_DECIDED": (
            "An approval was decided or expired; "
            "data: {approvalId, kind, state, reason, decidedBy}."
        ),
        "MESSAGE": (
            "A message of one of its threads was stored (its seq is the message's); "
            "data: {threadId, messageId, role, content, usage, interrupted}."
        ),
    },
)


@strawberry.type(description="Something that happened to an agent, numbered in order.")
class AgentEvent:
    seq: int = strawberry.field(
        description=(
            "Per agent, strictly increasing, no gaps. "
            "Pass the last one seen as agentEvents(after:) to resume."
        )
    )
    agent_id: strawberry.ID = strawberry.field(description="The agent.")
    type: AgentEventType = strawberry.field(description="What it reports.")  # type: ignore[valid-type]
    data: JSON = strawberry.field(description="The details, by type.")
    timestamp: datetime = strawberry.field(description="When it was recorded.")

    @property
    def shared_key(self) -> tuple[str, str, int]:
        """The same for every subscriber's copy of one stored event, and for no other
        (kai.graphql.event_projection shares their results by it)."""
        return ("agent_event", str(self.agent_id), self.seq)

    @classmethod
    def from_row(cls, row: AgentEventRow) -> AgentEvent:
        return cls(
            seq=row.seq,
            agent_id=strawberry.ID(row.agent_id),
            type=row.type,
            data=JSON(row.data),
            timestamp=row.timestamp,
        )
