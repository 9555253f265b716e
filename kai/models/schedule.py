from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, new_id, utcnow


class Schedule(SQLModel, table=True):
    """Tasks that start themselves: a cron timetable (or one time) and a task template.

    `next_run_at` is the next due time, null when nothing is planned (paused, or a
    one-off that has run). A due run is claimed by moving `next_run_at` on with an
    UPDATE guarded by the value read (kai.services.schedule), so whichever replica
    or worker gets there first starts it, and no other does.
    """

    __tablename__ = "schedule"
    __table_args__ = (
        # The tick's query: every schedule due by now.
        Index("ix_schedule_next_run_at", "next_run_at"),
        Index("ix_schedule_agent_id_created_at", "agent_id", "created_at"),
        Index("ix_schedule_owner_id", "owner_id"),
    )

    id: str = Field(default_factory=lambda: new_id("sch"), primary_key=True, max_length=40)
    # A schedule goes with its agent.
    agent_id: str = Field(foreign_key="agent.id", ondelete="CASCADE", max_length=40)
    # Who made it: its tasks are queued as theirs, and it counts against their cap.
    owner_id: str = Field(max_length=40)
    name: str = Field(max_length=100)
    cron: str | None = Field(default=None, max_length=200)
    timezone: str = Field(default="UTC", max_length=64)
    run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    task_type: str = Field(max_length=64)
    task_payload: Any | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    task_priority: int = 0
    task_retries: int = 0
    task_timeout_seconds: float | None = None
    active: bool = True
    next_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
