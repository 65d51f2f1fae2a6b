"""warning (status, region) index: the workspace's inbox reads a responder's unresolved warnings by
``status IN (…)`` and a region range, with 100,000 warnings and more in the store.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 05:50:00
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_warning_status_region', 'warning', ['status', 'region', 'level', 'rule', 'last_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_warning_status_region', table_name='warning')
