"""threads listed by last activity: indexes on updated_at

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 01:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('thread', schema=None) as batch_op:
        batch_op.create_index('ix_thread_agent_id_updated_at', ['agent_id', 'updated_at'], unique=False)
        batch_op.create_index('ix_thread_owner_id_updated_at', ['owner_id', 'updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('thread', schema=None) as batch_op:
        batch_op.drop_index('ix_thread_owner_id_updated_at')
        batch_op.drop_index('ix_thread_agent_id_updated_at')
