from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Identity, Index, Integer
from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, utcnow

# The resource often quotes an id the caller sent: the auditor cuts it to fit.
RESOURCE_MAX_LENGTH = 128


class AuditEntry(SQLModel, table=True):
    """One permission check, granted or denied. Never holds a secret."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_user_id_id", "user_id", "id"),
        Index("ix_audit_entry_action_id", "action", "id"),
    )

    # A growing integer: the natural newest-first order and a cheap cursor.
    id: int | None = Field(
        default=None,
        sa_column=Column(
            # SQLite only auto-increments an INTEGER PRIMARY KEY.
            BigInteger().with_variant(Integer, "sqlite"),
            Identity(always=False),
            primary_key=True,
        ),
    )
    # No foreign key: the trail outlives the users it names.
    user_id: str | None = Field(default=None, max_length=40)
    api_key_id: str | None = Field(default=None, max_length=40)
    action: str = Field(max_length=64)
    resource: str | None = Field(default=None, max_length=RESOURCE_MAX_LENGTH)
    granted: bool
    request_id: str | None = Field(default=None, max_length=64)
    timestamp: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
