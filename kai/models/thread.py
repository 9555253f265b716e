from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Enum, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, new_id, utcnow


class MessageRole(enum.StrEnum):
    SYSTEM = "SYSTEM"
    USER = "USER"
    ASSISTANT = "ASSISTANT"
    TOOL = "TOOL"


class Thread(SQLModel, table=True):
    """A conversation with one agent, kept.

    One answer at a time: `run_id` names the answer being produced and `run_until` is
    its lease, renewed while it runs (kai.services.thread_runs). A thread is busy while
    both are set and the lease has not run out, so a replica that died mid-answer frees
    its threads by itself. `interrupt_run` is a later message's request that the running
    answer stop (BusyPolicy INTERRUPT), read by the runner on every renewal should the
    live signal be lost.
    """

    __tablename__ = "thread"
    __table_args__ = (
        Index("ix_thread_agent_id_created_at", "agent_id", "created_at"),
        Index("ix_thread_owner_id_created_at", "owner_id", "created_at"),
        # `threads(orderBy: {field: UPDATED_AT})`, of one agent or of one owner.
        Index("ix_thread_agent_id_updated_at", "agent_id", "updated_at"),
        Index("ix_thread_owner_id_updated_at", "owner_id", "updated_at"),
    )

    id: str = Field(default_factory=lambda: new_id("thr"), primary_key=True, max_length=40)
    # A thread goes with its agent.
    agent_id: str = Field(foreign_key="agent.id", ondelete="CASCADE", max_length=40)
    # Who started it: it counts against their cap.
    owner_id: str = Field(max_length=40)
    title: str | None = Field(default=None, max_length=200)
    metadata_: Any | None = Field(default=None, sa_column=Column("metadata", JSON, nullable=True))
    # Stored messages, kept here so the cap is one guarded UPDATE, not a COUNT.
    message_count: int = 0
    run_id: str | None = Field(default=None, max_length=40)
    run_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    interrupt_run: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Message(SQLModel, table=True):
    """A stored message of a thread. Its `seq` is the agent event (type MESSAGE) that
    carried it, so history and the live event stream share one cursor."""

    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_thread_id_seq", "thread_id", "seq"),
        # postMessage's idempotency key, per user (null keys never collide).
        UniqueConstraint("user_id", "idempotency_key", name="uq_message_idempotency"),
    )

    id: str = Field(default_factory=lambda: new_id("msg"), primary_key=True, max_length=40)
    thread_id: str = Field(foreign_key="thread.id", ondelete="CASCADE", max_length=40)
    agent_id: str = Field(max_length=40)
    seq: int
    role: MessageRole = Field(
        sa_column=Column(
            Enum(MessageRole, name="message_role", native_enum=False, length=16),
            nullable=False,
        )
    )
    content: str
    # Tokens, as the endpoint reported them (assistant messages of `llm` agents).
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # An answer cut short by a later message (INTERRUPT) or by its asker leaving.
    interrupted: bool = False
    # The user's message an answer answers; on a user's message, why no answer came.
    reply_to: str | None = Field(default=None, max_length=40)
    error: str | None = Field(default=None, max_length=2000)
    user_id: str | None = Field(default=None, max_length=40)
    idempotency_key: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
