"""What happened to an agent, numbered in order, as its subscribers receive it."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from kai.models.agent_event import AgentEvent as AgentEventRow
from kai.models.agent_event import AgentEventType as AgentEventTypeValue

AgentEventType = strawberry.enum(
    AgentEventTypeValue, name="AgentEventType", description="What an agent event reports."
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

    @classmethod
    def from_row(cls, row: AgentEventRow) -> AgentEvent:
        return cls(
            seq=row.seq,
            agent_id=strawberry.ID(row.agent_id),
            type=row.type,
            data=JSON(row.data),
            timestamp=row.timestamp,
        )
