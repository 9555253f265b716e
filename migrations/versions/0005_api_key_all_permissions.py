"""API keys: "all of the owner's" is stored as ["*"]; an empty list means no permission

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 01:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_KEYS = sa.table("api_key", sa.column("id", sa.String), sa.column("permissions", sa.JSON))


def upgrade() -> None:
    # Every key stored with [] was made meaning "all of the owner's" (before, an empty
    # list could mean nothing else): it keeps exactly those rights, now said as ["*"].
    _replace(before=[], after=["*"])


def downgrade() -> None:
    _replace(before=["*"], after=[])


def _replace(*, before: list[str], after: list[str]) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_KEYS.c.id, _KEYS.c.permissions)).all()
    for key_id, permissions in rows:
        value = json.loads(permissions) if isinstance(permissions, str) else permissions
        if value == before:
            bind.execute(
                _KEYS.update().where(_KEYS.c.id == key_id).values(permissions=after)
            )
