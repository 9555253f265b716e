from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Enum, Identity, Index, Integer
from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, utcnow


class LogLevel(enum.StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


LEVEL_ORDER = {LogLevel.DEBUG: 10, LogLevel.INFO: 20, LogLevel.WARNING: 30, LogLevel.ERROR: 40}


class AgentLog(SQLModel, table=True):
    __tablename__ = "agent_log"
    __table_args__ = (Index("ix_agent_log_agent_id_id", "agent_id", "id"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), Identity(always=False), primary_key=True
        ),
    )
    agent_id: str = Field(foreign_key="agent.id", ondelete="CASCADE", max_length=40)
    level: LogLevel = Field(
        sa_column=Column(
            Enum(LogLevel, name="log_level", native_enum=False, length=16), nullable=False
        )
    )
    # Numeric level, so "WARNING and above" is one indexed comparison.
    severity: int = Field(default=20)
    message: str = Field(max_length=10_000)
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    timestamp: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
