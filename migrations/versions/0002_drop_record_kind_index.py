"""drop the record kind index

Seven record kinds: the index never narrows a read (every read of records goes by time, by arrival
sequence or by key; the evaluator's SQLite read keeps off it on purpose), and keeping it cost a fifth
of every insert's time (``bench/ingest_bench.py``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 14:05:00
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain DROP INDEX (not a batch): on SQLite a batch could copy the whole table.
    op.drop_index('ix_record_kind', table_name='record')


def downgrade() -> None:
    op.create_index('ix_record_kind', 'record', ['kind'], unique=False)
