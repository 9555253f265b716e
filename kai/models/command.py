from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, new_id, utcnow


class CommandRecord(SQLModel, table=True):
    """A command sent to an agent and its outcome: idempotency and metrics read it."""

    __tablename__ = "agent_command"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_agent_command_idempotency"),
        Index("ix_agent_command_agent_id_created_at", "agent_id", "created_at"),
        # Commands without an outcome yet, a handful however long the table: the approval
        # sweep looks there for approved ones whose process died (kai.services.approval).
        Index(
            "ix_agent_command_unfinished",
            "created_at",
            postgresql_where=text("completed_at IS NULL"),
            sqlite_where=text("completed_at IS NULL"),
        ),
    )

    id: str = Field(default_factory=lambda: new_id("cmd"), primary_key=True, max_length=40)
    agent_id: str = Field(foreign_key="agent.id", ondelete="CASCADE", max_length=40)
    user_id: str = Field(max_length=40)
    idempotency_key: str | None = Field(default=None, max_length=200)
    command: str = Field(max_length=200)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Null while running: a replayed key waits for, or reports, the first run.
    success: bool | None = None
    result: Any | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, max_length=10_000)
    duration_ms: float | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
