from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Enum, Index
from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, new_id, utcnow


class ApprovalKind(enum.StrEnum):
    COMMAND = "COMMAND"
    TASK = "TASK"
    ACTION = "ACTION"


class ApprovalState(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class Approval(SQLModel, table=True):
    """A person's decision that chosen work waits for: a command, a task, or something a
    remote agent's process asked about.

    Decided once: every change is an UPDATE guarded by `state = 'PENDING'` (and, for a
    person's decision, `expires_at` still ahead), in the transaction that also moves the
    work it gates, so of two deciders (or a decider and the expiry sweep) one wins and the
    other changes nothing (kai.services.approval).
    """

    __tablename__ = "approval"
    __table_args__ = (
        # The expiry sweep's query: PENDING approvals whose time is up.
        Index("ix_approval_state_expires_at", "state", "expires_at"),
        Index("ix_approval_agent_id_created_at", "agent_id", "created_at"),
        # The cap on each user's PENDING approvals (Q1).
        Index("ix_approval_requested_by_state", "requested_by", "state"),
        Index("ix_approval_command_id", "command_id", unique=True),
        Index("ix_approval_task_id", "task_id", unique=True),
    )

    id: str = Field(default_factory=lambda: new_id("apr"), primary_key=True, max_length=40)
    # An approval goes with its agent.
    agent_id: str = Field(foreign_key="agent.id", ondelete="CASCADE", max_length=40)
    kind: ApprovalKind = Field(
        sa_column=Column(
            Enum(ApprovalKind, name="approval_kind", native_enum=False, length=16), nullable=False
        )
    )
    subject: Any = Field(sa_column=Column(JSON, nullable=False))
    state: ApprovalState = Field(
        default=ApprovalState.PENDING,
        sa_column=Column(
            Enum(ApprovalState, name="approval_state", native_enum=False, length=16),
            nullable=False,
        ),
    )
    # The user whose request waits (a command's sender, a task's owner, a process's key's
    # owner), and the API key it came with, which may never decide it.
    requested_by: str = Field(max_length=40)
    requested_with_key: str | None = Field(default=None, max_length=40)
    decided_by: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=1000)
    # The work it gates (COMMAND, TASK); an ACTION's is the process's own.
    command_id: str | None = Field(
        default=None, foreign_key="agent_command.id", ondelete="CASCADE", max_length=40
    )
    task_id: str | None = Field(
        default=None, foreign_key="task.id", ondelete="CASCADE", max_length=40
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
