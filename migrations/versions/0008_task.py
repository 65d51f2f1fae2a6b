"""tasks: 核实/走访/调处 that warnings create for the grid

One row per (warning, kind, assignee node) (``integrations/store/task_models.py``): the node and its tier
(and duty unit), the status (open, accepted, done, overdue), the outcome and note, the person visited
(pseudonym), and when it was created, is due, was accepted and done, and by whom.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 05:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import integrations.store.models


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('warning_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
    sa.Column('tier', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('person', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', integrations.store.models.AwareDateTime(timezone=True), nullable=False),
    sa.Column('due_at', integrations.store.models.AwareDateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', integrations.store.models.AwareDateTime(timezone=True), nullable=True),
    sa.Column('accepted_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('done_at', integrations.store.models.AwareDateTime(timezone=True), nullable=True),
    sa.Column('done_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.ForeignKeyConstraint(['warning_id'], ['warning.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('warning_id', 'kind', 'region', name='uq_task_warning_kind_region')
    )
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_warning_id'), ['warning_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_warning_id'))
        batch_op.drop_index(batch_op.f('ix_task_status'))
        batch_op.drop_index(batch_op.f('ix_task_region'))
        batch_op.drop_index(batch_op.f('ix_task_due_at'))

    op.drop_table('task')
