"""silences: announced causes whose warnings notify nobody until they end

One row per silence (``integrations/store/silences.py``): the rule, region subtree, level and category it
covers, from when until when (and, for a recurring one, its weekly schedule), why and who set it, and
when it was ended by hand. On each warning: the event time of the firing last notified (a rule's
``notify_every``) and when it turned stale (``resolve_after``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 21:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import integrations.store.models


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('silence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=15), nullable=True),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('starts_at', integrations.store.models.AwareDateTime(timezone=True), nullable=False),
    sa.Column('until', integrations.store.models.AwareDateTime(timezone=True), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('author', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', integrations.store.models.AwareDateTime(timezone=True), nullable=False),
    sa.Column('expired_at', integrations.store.models.AwareDateTime(timezone=True), nullable=True),
    sa.Column('expired_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('schedule', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('silence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_silence_rule'), ['rule'], unique=False)
        batch_op.create_index(batch_op.f('ix_silence_until'), ['until'], unique=False)
    with op.batch_alter_table('warning', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notified_at', integrations.store.models.AwareDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('stale_at', integrations.store.models.AwareDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('warning', schema=None) as batch_op:
        batch_op.drop_column('stale_at')
        batch_op.drop_column('notified_at')
    with op.batch_alter_table('silence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_silence_until'))
        batch_op.drop_index(batch_op.f('ix_silence_rule'))

    op.drop_table('silence')
