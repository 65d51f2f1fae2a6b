"""per-source watermarks (issue 17)

One row per source: the latest event time among its records, its heartbeat ("complete up to") and the
wall time of its last delivery. Live evaluation releases records by the minimum over the live sources.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 21:40:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import integrations.store.models

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('source_watermark',
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('latest_at', integrations.store.models.AwareDateTime(timezone=True), nullable=True),
    sa.Column('complete_up_to', integrations.store.models.AwareDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', integrations.store.models.AwareDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('source')
    )


def downgrade() -> None:
    op.drop_table('source_watermark')
