from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Enum
from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, new_id, utcnow


class AgentState(enum.StrEnum):
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    ERROR = "ERROR"


class Agent(SQLModel, table=True):
    __tablename__ = "agent"

    id: str = Field(default_factory=lambda: new_id("agt"), primary_key=True, max_length=40)
    owner_id: str = Field(
        foreign_key="user_account.id", index=True, ondelete="CASCADE", max_length=40
    )
    name: str = Field(max_length=100)
    type: str = Field(max_length=32)
    capabilities: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Stored as given (secrets included, for the runtime); redacted on the way out.
    configuration: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    resources: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Which of its commands and task types wait for a person (kai.services.approval_policy);
    # null: none do.
    approval_policy: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    state: AgentState = Field(
        default=AgentState.STOPPED,
        sa_column=Column(
            Enum(AgentState, name="agent_state", native_enum=False, length=16), nullable=False
        ),
    )
    # When the agent last entered RUNNING: uptime is measured from it.
    running_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_seen: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The agentInbox attachment (a remote agent's process) that holds the agent, if any.
    inbox_id: str | None = Field(default=None, max_length=40)
    last_error: str | None = Field(default=None, max_length=1000)
    # Reported by the runtime (remote agents through heartbeats); null when unknown.
    memory_usage: float | None = None
    cpu_usage: float | None = None
    # The seq of the agent's newest event; appending takes this row's lock, so
    # concurrent writers get consecutive numbers with no gap.
    last_event_seq: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
