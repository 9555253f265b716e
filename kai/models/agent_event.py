from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Enum
from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, utcnow


class AgentEventType(enum.StrEnum):
    STATUS_UPDATE = "STATUS_UPDATE"
    LOG = "LOG"
    STREAM_CHUNK = "STREAM_CHUNK"
    ERROR = "ERROR"
    COMMAND_RESULT = "COMMAND_RESULT"
    TASK_PROGRESS = "TASK_PROGRESS"
    TASK_COMPLETE = "TASK_COMPLETE"
    APPROVAL_REQUESTED = "APPROVAL_REQUESTED"
    APPROVAL_DECIDED = "APPROVAL_DECIDED"
    MESSAGE = "MESSAGE"


class AgentEvent(SQLModel, table=True):
    """The agent's event log: `(agent_id, seq)` numbers every event 1, 2, 3, ... with no gap."""

    __tablename__ = "agent_event"

    agent_id: str = Field(
        foreign_key="agent.id", primary_key=True, ondelete="CASCADE", max_length=40
    )
    seq: int = Field(primary_key=True)
    type: AgentEventType = Field(
        sa_column=Column(
            Enum(AgentEventType, name="agent_event_type", native_enum=False, length=32),
            nullable=False,
        )
    )
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    timestamp: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
