from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Enum, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, new_id, utcnow


class TaskState(enum.StrEnum):
    # Made, and waiting for a person's approval before it may run (kai.services.approval).
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELLED})


class Task(SQLModel, table=True):
    """Background work for an agent. The row is the truth; broker messages only wake workers."""

    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("owner_id", "idempotency_key", name="uq_task_idempotency"),
        # The claim query: the best due PENDING task.
        Index("ix_task_claim", "state", "dispatched", "priority", "not_before"),
        Index("ix_task_agent_id_created_at", "agent_id", "created_at"),
        # One task per due time of a schedule, whichever process claimed it (runs
        # started by hand have no due time, and NULLs never collide).
        UniqueConstraint("schedule_id", "scheduled_for", name="uq_task_schedule_due"),
        Index("ix_task_schedule_id_created_at", "schedule_id", "created_at"),
    )

    id: str = Field(default_factory=lambda: new_id("tsk"), primary_key=True, max_length=40)
    # None for the server's own work (a file's indexing), which no agent runs
    # and the API never shows: Task.agent is non-null in the contract.
    agent_id: str | None = Field(
        default=None, foreign_key="agent.id", ondelete="CASCADE", max_length=40
    )
    owner_id: str = Field(max_length=40)
    # The schedule that started it; its tasks outlive a deleted schedule.
    schedule_id: str | None = Field(
        default=None, foreign_key="schedule.id", ondelete="SET NULL", max_length=40
    )
    # The due time it was started for (null: started by hand, runScheduleNow).
    scheduled_for: datetime | None = Field(default=None, sa_type=UTCDateTime)
    idempotency_key: str | None = Field(default=None, max_length=200)
    type: str = Field(max_length=64)
    payload: Any | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    state: TaskState = Field(
        default=TaskState.PENDING,
        sa_column=Column(
            Enum(TaskState, name="task_state", native_enum=False, length=32), nullable=False
        ),
    )
    priority: int = 0
    # Executions started so far; retries allowed after the first.
    attempts: int = 0
    max_retries: int = 0
    timeout_seconds: float | None = None
    # Not started before this moment (delaySeconds, and retry backoff).
    not_before: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A broker message is out for this PENDING task; cleared when it must be sent again.
    dispatched: bool = False
    progress: float | None = None
    result: Any | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, max_length=10_000)
    cancel_requested: bool = False
    worker_id: str | None = Field(default=None, max_length=64)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
