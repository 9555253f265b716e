from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, Enum
from sqlmodel import Field, SQLModel

from kai.models.base import UTCDateTime, new_id, utcnow


class Role(enum.StrEnum):
    USER = "USER"
    DEVELOPER = "DEVELOPER"
    ADMIN = "ADMIN"


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: str = Field(default_factory=lambda: new_id("usr"), primary_key=True, max_length=40)
    # Stored lower-cased, so the unique index is case-insensitive on every backend.
    email: str = Field(unique=True, index=True, max_length=254)
    display_name: str | None = Field(default=None, max_length=100)
    password_hash: str | None = Field(default=None, max_length=255)
    role: Role = Field(
        default=Role.USER,
        sa_column=Column(Enum(Role, name="role", native_enum=False, length=16), nullable=False),
    )
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
