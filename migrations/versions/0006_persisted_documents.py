"""persisted documents (automatic persisted queries)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import kai.models.base


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('persisted_document',
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('created_at', kai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', kai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    with op.batch_alter_table('persisted_document', schema=None) as batch_op:
        batch_op.create_index('ix_persisted_document_used_at', ['used_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('persisted_document', schema=None) as batch_op:
        batch_op.drop_index('ix_persisted_document_used_at')

    op.drop_table('persisted_document')
