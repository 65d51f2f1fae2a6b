"""evaluator checkpoint and batch journal (issue 17, cheap durability)

The evaluator's full state is written now and then as msgpack + zlib bytes (``evaluator_checkpoint``);
each batch commits one small row (``evaluator_batch``): the position after it and the fingerprints
resolved before it, so that a restart replays the stored records after the checkpoint batch by batch.
``evaluator_state.state`` (the JSON document written per batch) is no longer written.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 13:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import integrations.store.models


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evaluator_checkpoint',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('rulebook_version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('consumed_seq', sa.Integer(), nullable=False),
    sa.Column('watermark', integrations.store.models.AwareDateTime(timezone=True), nullable=True),
    sa.Column('journal_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.LargeBinary(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('written_at', integrations.store.models.AwareDateTime(timezone=True), nullable=False),
    sa.Column('written_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('evaluator_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('consumed_seq', sa.Integer(), nullable=False),
    sa.Column('watermark', integrations.store.models.AwareDateTime(timezone=True), nullable=True),
    sa.Column('resolved', sa.JSON(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('committed_at', integrations.store.models.AwareDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_evaluator_batch_name'), 'evaluator_batch', ['name'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_evaluator_batch_name'), table_name='evaluator_batch')
    op.drop_table('evaluator_batch')
    op.drop_table('evaluator_checkpoint')
