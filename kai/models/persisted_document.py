from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, utcnow


class PersistedDocument(SQLModel, table=True):
    """A document registered by Apollo's automatic persisted queries protocol, by the
    SHA-256 of its text. Anyone may register one: the table is a bounded cache (the least
    recently used go first), never a list of what may run."""

    __tablename__ = "persisted_document"
    __table_args__ = (Index("ix_persisted_document_used_at", "used_at"),)

    sha256: str = Field(primary_key=True, max_length=64)
    document: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When a process last loaded it from here (runs from a process's cache do not count).
    used_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
