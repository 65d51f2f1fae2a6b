"""The store's tables (SQLModel). One family per concept; every schema change is an Alembic migration
under ``migrations/versions``.

Datetimes are stored in UTC and always come back timezone-aware, on SQLite as on PostgreSQL (the column
types are in :mod:`integrations.store.columns`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# AwareDateTime is re-exported: the migrations name it as integrations.store.models.AwareDateTime.
from integrations.store.columns import AwareDateTime as AwareDateTime
from integrations.store.columns import _dt, _json, utcnow


class RecordRow(SQLModel, table=True):
    """The latest version of a record, unique by (source, source_id)."""

    __tablename__ = "record"
    __table_args__ = (
        sa.UniqueConstraint("source", "source_id", name="uq_record_source_id"),
        # On PostgreSQL a shard's read of a day narrows to its districts through this index. SQLite reads
        # the day by time and filters the rest (integrations/store/shard_store.py keeps it off other indexes on
        # purpose), so there the index was only upkeep: a fifth of each insert (migration 0003).
        sa.Index("ix_record_region", "region").ddl_if(dialect="postgresql"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own on source: the unique (source, source_id) constraint already serves it.
    source: str = Field(max_length=100)
    source_id: str = Field(max_length=200)
    # No index on kind either: seven kinds, so it never narrows a read (reads go by time, and the
    # evaluator's SQLite read keeps off it on purpose), while each insert paid a fifth more to keep it
    # (migration 0002).
    kind: str = Field(max_length=50)
    at: datetime = _dt(index=True)
    region: str = Field(max_length=15)  # indexed on PostgreSQL only (see __table_args__)
    attributes: dict[str, Any] = _json(default_factory=dict)
    content_hash: str = Field(max_length=64)
    version: int = 1
    late: bool = False
    received_at: datetime = _dt(default_factory=utcnow)
    seq: int = Field(default=0, index=True, description="Arrival sequence: what evaluation has consumed.")


class RecordVersionRow(SQLModel, table=True):
    """Every version of every record, append-only: the history of changes at the source."""

    __tablename__ = "record_version"

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="record.id", index=True)
    version: int
    attributes: dict[str, Any] = _json(default_factory=dict)
    at: datetime = _dt()
    region: str = Field(max_length=15)
    content_hash: str = Field(max_length=64)
    received_at: datetime = _dt(default_factory=utcnow)


class QuarantineRow(SQLModel, table=True):
    """Input that failed validation, kept whole with its reason so it can be fixed and replayed."""

    __tablename__ = "quarantine"
    # The same bad item, fetched again (a re-run, two ingests at once), is kept once.
    __table_args__ = (sa.UniqueConstraint("source", "item_hash", name="uq_quarantine_item"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(index=True, max_length=100)
    item_hash: str | None = Field(default=None, max_length=64)
    """SHA-256 of the kept payload; ``None`` on rows from before it was recorded."""
    source_id: str | None = Field(default=None, max_length=200)
    page: str | None = Field(default=None, max_length=500)
    raw: str
    reason: str
    received_at: datetime = _dt(default_factory=utcnow)
    replayed_at: datetime | None = _dt(default=None, nullable=True)


class CursorRow(SQLModel, table=True):
    """Where a source's next fetch continues; advanced only after the batch it covers is committed."""

    __tablename__ = "cursor"

    source: str = Field(primary_key=True, max_length=100)
    cursor: str | None = None
    complete_until: datetime | None = _dt(default=None, nullable=True)
    updated_at: datetime = _dt(default_factory=utcnow)


class SourceWatermarkRow(SQLModel, table=True):
    """How far one source has delivered: its latest record ``at``, its heartbeat, its last delivery."""

    __tablename__ = "source_watermark"

    source: str = Field(primary_key=True, max_length=100)
    latest_at: datetime | None = _dt(default=None, nullable=True)
    complete_up_to: datetime | None = _dt(default=None, nullable=True)
    delivered_at: datetime | None = _dt(default=None, nullable=True)


class WarningRow(SQLModel, table=True):
    """A warning: identified by fingerprint while open; explained; routed to a region and tier."""

    __tablename__ = "warning"
    __table_args__ = (
        sa.UniqueConstraint("open_key", name="uq_warning_open_key"),
        # The inbox: a responder's unresolved warnings are ``status IN (…)`` and a region range; level, rule and
        # last_at make it cover the counts per level, the rule list and the sort without reading the rows.
        sa.Index("ix_warning_status_region", "status", "region", "level", "rule", "last_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(index=True, max_length=64)
    # Equal to fingerprint while the warning is open, NULL once resolved: at most one open warning per
    # fingerprint, enforced by the database (NULLs are distinct in a unique constraint).
    open_key: str | None = Field(default=None, max_length=64)
    rule: str = Field(index=True, max_length=100)
    title: str = ""
    level: str = Field(index=True, max_length=10)
    status: str = Field(default="open", index=True, max_length=20)
    region: str = Field(index=True, max_length=15)
    tier: str = Field(default="", max_length=20, description="Responsible tier now (after escalations).")
    route_region: str = Field(default="", max_length=15, description="The ancestor node responsible now.")
    first_at: datetime = _dt()
    last_at: datetime = _dt()
    occurrences: int = 1
    summary: str = ""
    explanation: str = ""
    records: list[str] = _json(default_factory=list)
    rulebook_version: str = Field(default="", max_length=64)
    policy: dict[str, Any] = _json(default_factory=dict, description="Escalation policy pinned at open.")
    escalation_step: int = 0
    opened_at: datetime = _dt(default_factory=utcnow)
    acknowledged_at: datetime | None = _dt(default=None, nullable=True)
    resolved_at: datetime | None = _dt(default=None, nullable=True)
    ack_due_at: datetime | None = _dt(default=None, nullable=True)
    resolve_due_at: datetime | None = _dt(default=None, nullable=True)
    notified_at: datetime | None = _dt(
        default=None, nullable=True,
        description="Event time of the firing last notified (open, raise, repeat): for the rule's notify_every.")
    stale_at: datetime | None = _dt(
        default=None, nullable=True, description="When it turned stale (resolve_after); None while active.")


class AuditRow(SQLModel, table=True):
    """Append-only log of every change of a warning: who, when, what, why."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    warning_id: int | None = Field(default=None, foreign_key="warning.id", index=True)
    at: datetime = _dt(default_factory=utcnow)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=50)
    reason: str = ""
    detail: dict[str, Any] = _json(default_factory=dict)


class OutboxRow(SQLModel, table=True):
    """A notification to deliver, written in the same transaction as the warning change behind it.

    Its idempotency key (warning, step, recipient, channel) is unique: re-running never writes it twice,
    and a resend after a crash carries the same key.
    """

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=200)
    warning_id: int | None = Field(default=None, foreign_key="warning.id", index=True)
    step: str = Field(max_length=50)
    recipient: str = Field(max_length=100)
    channel: str = Field(max_length=50)
    address: str = Field(default="", max_length=500)
    level: str = Field(default="", max_length=10)
    subject: str = ""
    body: str = ""
    payload: dict[str, Any] = _json(default_factory=dict)
    status: str = Field(default="pending", index=True, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = _dt(default_factory=utcnow)
    last_error: str = ""
    created_at: datetime = _dt(default_factory=utcnow)
    sent_at: datetime | None = _dt(default=None, nullable=True)


class EvaluatorStateRow(SQLModel, table=True):
    """The evaluator's state between runs (windows, partial sequences, pending absences, watermark)."""

    __tablename__ = "evaluator_state"

    name: str = Field(primary_key=True, max_length=50)
    rulebook_version: str = Field(max_length=64)
    consumed_seq: int = 0
    watermark: datetime | None = _dt(default=None, nullable=True)
    state: dict[str, Any] = _json(default_factory=dict)
    updated_at: datetime = _dt(default_factory=utcnow)


class ActionLinkRow(SQLModel, table=True):
    """A one-click action link that has been used: its nonce is the key, so a link acts at most once
    (a replay, even a concurrent one, collides on the primary key)."""

    __tablename__ = "action_link"

    nonce: str = Field(primary_key=True, max_length=64)
    warning_id: int = Field(foreign_key="warning.id", index=True)
    action: str = Field(max_length=20)
    responder: str = Field(max_length=100)
    used_at: datetime = _dt(default_factory=utcnow)

