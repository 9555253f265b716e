"""Work handed to a remote agent's process and not yet answered: who may answer it.

A row is written when the `agentInbox` holding the agent delivers a COMMAND or
PROMPT to its process, and removed by the final answer (agentReply, or the
last agentStreamChunk), when that inbox closes, or by the sweep once it is
old. A reply naming no row, or a row of someone else's agent, is NOT_FOUND.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, utcnow


class RemoteMessage(SQLModel, table=True):
    __tablename__ = "remote_message"

    id: str = Field(primary_key=True, max_length=40)
    agent_id: str = Field(foreign_key="agent.id", index=True, ondelete="CASCADE", max_length=40)
    # The agentInbox attachment (Agent.inbox_id) that delivered it.
    inbox_id: str = Field(index=True, max_length=40)
    kind: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
