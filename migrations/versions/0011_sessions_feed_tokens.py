"""server-side workspace sessions and personal feed tokens

``session``: one row per login of the web workspace, named by the SHA-256 of the random id the signed
cookie carries; logout, ``users disable`` and ``users passwd`` revoke rows at once
(``integrations/store/web_sessions.py``). ``feed_token``: a responder's personal CAP feed token, stored
hashed, revocable.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 13:15:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import integrations.store.models


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('id_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', integrations.store.models.AwareDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', integrations.store.models.AwareDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', integrations.store.models.AwareDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('id_hash')
    )
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_username'), ['username'], unique=False)

    op.create_table('feed_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', integrations.store.models.AwareDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', integrations.store.models.AwareDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('feed_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_token_username'), ['username'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feed_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_token_username'))

    op.drop_table('feed_token')
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_username'))

    op.drop_table('session')
