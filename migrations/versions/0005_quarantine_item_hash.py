"""quarantine kept once per (source, item)

A content hash of each quarantined payload, unique per source: an item fetched again (a re-run, two
ingests at once) is not quarantined twice. Rows from before have no hash (NULLs are distinct).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 21:50:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.add_column(sa.Column('item_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_quarantine_item', ['source', 'item_hash'])


def downgrade() -> None:
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_constraint('uq_quarantine_item', type_='unique')
        batch_op.drop_column('item_hash')
