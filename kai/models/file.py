from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Column, Enum, Index
from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, new_id, utcnow


class ScanStatus(enum.StrEnum):
    CLEAN = "CLEAN"
    # No scanner is configured (development only): the file was not scanned.
    SKIPPED = "SKIPPED"


class StoredFile(SQLModel, table=True):
    """An uploaded file's metadata. Written only after its blob is stored, scanned and hashed."""

    __tablename__ = "file"
    __table_args__ = (
        Index("ix_file_owner_id_uploaded_at", "owner_id", "uploaded_at"),
        Index("ix_file_agent_id_uploaded_at", "agent_id", "uploaded_at"),
    )

    id: str = Field(default_factory=lambda: new_id("fil"), primary_key=True, max_length=40)
    owner_id: str = Field(foreign_key="user_account.id", ondelete="CASCADE", max_length=40)
    # Files go with their agent, blobs included: deleteAgent removes them first.
    agent_id: str | None = Field(
        default=None, foreign_key="agent.id", ondelete="CASCADE", max_length=40
    )
    original_name: str = Field(max_length=255)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    mime_type: str = Field(max_length=100)
    checksum: str = Field(max_length=64)
    scan_status: ScanStatus = Field(
        sa_column=Column(
            Enum(ScanStatus, name="scan_status", native_enum=False, length=16), nullable=False
        ),
    )
    # Server-generated; never derived from the client's name.
    storage_key: str = Field(max_length=128, unique=True)
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When its text was last indexed for search (None: not indexed, or not text).
    indexed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
