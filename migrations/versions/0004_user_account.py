"""user accounts of the web workspace

One login per responder of the directory (``integrations/store/users.py``): an Argon2id password hash,
a failure count and lock-out, and whether the account is disabled.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 18:14:42
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import integrations.store.models


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('responder_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', integrations.store.models.AwareDateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', integrations.store.models.AwareDateTime(timezone=True), nullable=True),
    sa.Column('created_at', integrations.store.models.AwareDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', integrations.store.models.AwareDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_account_responder_id'), ['responder_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_account_responder_id'))

    op.drop_table('user_account')
