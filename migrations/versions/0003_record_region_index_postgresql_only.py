"""the record region index on PostgreSQL only

SQLite reads records of a day by time and filters districts itself (``integrations/store/shard_store.py`` keeps the
query off the region index on purpose), so there the index cost every insert a fifth more and served no
read. PostgreSQL keeps it: a shard's read of a day narrows to its districts through it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 14:55:00
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.drop_index('ix_record_region', table_name='record')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.create_index('ix_record_region', 'record', ['region'], unique=False)
