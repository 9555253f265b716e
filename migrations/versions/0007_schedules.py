"""schedules, and the schedule (and due time) of each task it started

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 17:34:21.114367
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import kai.models.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('schedule',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('agent_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('owner_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('cron', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('run_at', kai.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('task_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('task_payload', sa.JSON(), nullable=True),
    sa.Column('task_priority', sa.Integer(), nullable=False),
    sa.Column('task_retries', sa.Integer(), nullable=False),
    sa.Column('task_timeout_seconds', sa.Float(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('next_run_at', kai.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_run_at', kai.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', kai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_agent_id_created_at', ['agent_id', 'created_at'], unique=False)
        batch_op.create_index('ix_schedule_next_run_at', ['next_run_at'], unique=False)
        batch_op.create_index('ix_schedule_owner_id', ['owner_id'], unique=False)

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('scheduled_for', kai.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_task_schedule_id_created_at', ['schedule_id', 'created_at'], unique=False)
        batch_op.create_unique_constraint('uq_task_schedule_due', ['schedule_id', 'scheduled_for'])
        batch_op.create_foreign_key('fk_task_schedule_id_schedule', 'schedule', ['schedule_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_constraint('fk_task_schedule_id_schedule', type_='foreignkey')
        batch_op.drop_constraint('uq_task_schedule_due', type_='unique')
        batch_op.drop_index('ix_task_schedule_id_created_at')
        batch_op.drop_column('scheduled_for')
        batch_op.drop_column('schedule_id')

    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_owner_id')
        batch_op.drop_index('ix_schedule_next_run_at')
        batch_op.drop_index('ix_schedule_agent_id_created_at')

    op.drop_table('schedule')
