"""register: the register (台账) of people to care for

One row per person and category (``integrations/store/registers.py``): the pseudonym, category key, grid,
start and end dates, when and why it was closed, and the import's file name and line.

Revision ID: 0009
Revises: 0008 (on the `register` branch; at the merge after 0008_task, it revises 0008)
Create Date: 2026-12-05 05:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import integrations.store.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('register_person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person', sqlmodel.sql.sqltypes.AutoString(length=22), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('grid', sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('closed_at', integrations.store.models.AwareDateTime(timezone=True), nullable=True),
    sa.Column('closed_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', integrations.store.models.AwareDateTime(timezone=True), nullable=False),
    sa.Column('source_file', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('source_line', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('register_person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_register_person_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_register_person_grid'), ['grid'], unique=False)
        batch_op.create_index(batch_op.f('ix_register_person_person'), ['person'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('register_person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_register_person_person'))
        batch_op.drop_index(batch_op.f('ix_register_person_grid'))
        batch_op.drop_index(batch_op.f('ix_register_person_category'))

    op.drop_table('register_person')
