"""approvals, each agent's approval policy, and tasks that await approval

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 10:12:40.518203
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import kai.models.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TASK_STATES = ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')


def upgrade() -> None:
    op.create_table('approval',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('agent_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('kind', sa.Enum('COMMAND', 'TASK', 'ACTION', name='approval_kind', native_enum=False, length=16), nullable=False),
    sa.Column('subject', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('PENDING', 'APPROVED', 'REJECTED', 'EXPIRED', name='approval_state', native_enum=False, length=16), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('requested_with_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('command_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('task_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('created_at', kai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', kai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', kai.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['command_id'], ['agent_command.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.create_index('ix_approval_agent_id_created_at', ['agent_id', 'created_at'], unique=False)
        batch_op.create_index('ix_approval_command_id', ['command_id'], unique=True)
        batch_op.create_index('ix_approval_requested_by_state', ['requested_by', 'state'], unique=False)
        batch_op.create_index('ix_approval_state_expires_at', ['state', 'expires_at'], unique=False)
        batch_op.create_index('ix_approval_task_id', ['task_id'], unique=True)

    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval_policy', sa.JSON(), nullable=True))

    # Approved commands that never got an outcome are looked for among the unfinished few.
    with op.batch_alter_table('agent_command', schema=None) as batch_op:
        batch_op.create_index('ix_agent_command_unfinished', ['created_at'], unique=False, postgresql_where=sa.text('completed_at IS NULL'), sqlite_where=sa.text('completed_at IS NULL'))

    # AWAITING_APPROVAL is longer than the 16 characters the state had.
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.alter_column('state',
               existing_type=sa.Enum(*TASK_STATES, name='task_state', native_enum=False, length=16),
               type_=sa.Enum('AWAITING_APPROVAL', *TASK_STATES, name='task_state', native_enum=False, length=32),
               existing_nullable=False)


def downgrade() -> None:
    # Tasks that still await approval never ran: they end CANCELLED, in the old states.
    op.execute(
        "UPDATE task SET state = 'CANCELLED', error = 'approvals were removed' "
        "WHERE state = 'AWAITING_APPROVAL'"
    )
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.alter_column('state',
               existing_type=sa.Enum('AWAITING_APPROVAL', *TASK_STATES, name='task_state', native_enum=False, length=32),
               type_=sa.Enum(*TASK_STATES, name='task_state', native_enum=False, length=16),
               existing_nullable=False)

    with op.batch_alter_table('agent_command', schema=None) as batch_op:
        batch_op.drop_index('ix_agent_command_unfinished', postgresql_where=sa.text('completed_at IS NULL'), sqlite_where=sa.text('completed_at IS NULL'))

    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_column('approval_policy')

    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_task_id')
        batch_op.drop_index('ix_approval_state_expires_at')
        batch_op.drop_index('ix_approval_requested_by_state')
        batch_op.drop_index('ix_approval_command_id')
        batch_op.drop_index('ix_approval_agent_id_created_at')

    op.drop_table('approval')
