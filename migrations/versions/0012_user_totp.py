"""user_account TOTP: the sealed secret and the last time step accepted (issue #19)

``totp_secret`` is ciphertext (Fernet under ``FENGHUO_TOTP_KEY``, integrations/totp.py), never the base32
secret; ``totp_last_step`` refuses a code used twice. Both empty: the account logs in with its password.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 13:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')
