from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, new_id, utcnow


class MagicLink(SQLModel, table=True):
    __tablename__ = "magic_link"

    id: str = Field(default_factory=lambda: new_id("mlk"), primary_key=True, max_length=40)
    user_id: str = Field(
        foreign_key="user_account.id", index=True, ondelete="CASCADE", max_length=40
    )
    # SHA-256 of the token: a database leak gives no usable link.
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
