from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, new_id, utcnow


class AuthSession(SQLModel, table=True):
    """A login. Every access and refresh token names one; revoking it ends them all."""

    __tablename__ = "auth_session"

    id: str = Field(default_factory=lambda: new_id("ses"), primary_key=True, max_length=40)
    user_id: str = Field(
        foreign_key="user_account.id", index=True, ondelete="CASCADE", max_length=40
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Absolute end: refreshing never moves it.
    expires_at: datetime = Field(sa_type=UTCDateTime)
    # Idle end: moved forward by use.
    last_used_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The one refresh token id that may still be spent; any other id of this
    # session presented to refreshToken is a replay and revokes the session.
    refresh_jti: str = Field(max_length=64)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=255)
    ip_address: str | None = Field(default=None, max_length=64)
