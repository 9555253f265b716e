from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, new_id, utcnow


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: str = Field(default_factory=lambda: new_id("key"), primary_key=True, max_length=40)
    user_id: str = Field(
        foreign_key="user_account.id", index=True, ondelete="CASCADE", max_length=40
    )
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    # SHA-256 of the whole key: the key has 256 random bits, so a fast hash is
    # enough and lets a request find its key with one indexed lookup.
    key_hash: str = Field(unique=True, max_length=64)
    permissions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    agent_ids: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
