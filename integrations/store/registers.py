"""The register (台账) of people to care for, in the store.

One row per person and category while they are cared for: the pseudonym (never the ID number), the
category key (``care_categories.yaml``), the responsible grid, start and end dates, and where the row came
from (the import's file name and line). Nothing else of a person is kept. An entry is closed, never
deleted: its visits stop falling due from the day it was closed. Every change is audited (rows without a
warning).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from domain.messages import N_, Message
from domain.regions import tier_of

# The models first: importing them registers every table (see integrations.store.silences).
from integrations.store import models as _models  # noqa: F401  isort: skip
from integrations.store.audit import append_audit
from integrations.store.columns import _dt, utcnow

REGISTER_IMPORTED, REGISTER_CLOSED = "register-import", "register-close"
"""Audit actions (rows without a warning) of an import (its counts, never a person's ID) and of a close."""


class RegisterPersonRow(SQLModel, table=True):
    """A person in the register of one category: pseudonym, category, grid, dates, and the row's origin."""

    __tablename__ = "register_person"

    id: int | None = Field(default=None, primary_key=True)
    person: str = Field(index=True, max_length=22)
    """Keyed pseudonym of the ID number (``domain.privacy.pseudonym``)."""
    category: str = Field(index=True, max_length=50)
    grid: str = Field(index=True, max_length=15)
    start_date: date
    end_date: date | None = None
    closed_at: datetime | None = _dt(default=None, nullable=True)
    closed_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = _dt(default_factory=utcnow)
    source_file: str | None = Field(default=None, max_length=255)
    """Name (not path) of the file the row was imported from."""
    source_line: int | None = None


class RegisterClosed(ValueError):
    """An entry that cannot be closed (already closed); the message (Chinese) says so."""


def open_entries(session: Session, people: Collection[str] | None = None) -> dict[tuple[str, str], RegisterPersonRow]:
    """Open entries (not closed) by ``(person, category)``, of ``people`` only if given."""
    query = select(RegisterPersonRow).where(col(RegisterPersonRow.closed_at).is_(None))
    if people is not None:
        if not people:
            return {}
        query = query.where(col(RegisterPersonRow.person).in_(list(people)))
    return {(r.person, r.category): r for r in session.exec(query)}


def add_entries(session: Session, entries: Iterable[dict[str, Any]], *, now: datetime) -> list[int]:
    """Insert entries (dicts of the row's fields) in the caller's transaction; their ids, in order.

    One multi-row INSERT … RETURNING, not an ORM object per row: an import of thousands of rows stays fast."""
    values = [{**e, "created_at": now} for e in entries]
    if not values:
        return []
    statement = sa.insert(RegisterPersonRow).returning(col(RegisterPersonRow.id), sort_by_parameter_order=True)
    return [int(i) for i in session.execute(statement, values).scalars()]


def closed_entries(session: Session, people: Collection[str]) -> dict[tuple[str, str, date], RegisterPersonRow]:
    """Closed entries of ``people`` by ``(person, category, start_date)`` (the latest closed, if several)."""
    if not people:
        return {}
    query = select(RegisterPersonRow).where(col(RegisterPersonRow.closed_at).is_not(None),
                                            col(RegisterPersonRow.person).in_(list(people)))
    return {(r.person, r.category, r.start_date): r for r in session.exec(query.order_by(col(RegisterPersonRow.id)))}


def list_entries(session: Session, *, category: str | None = None, grid: str | None = None,
                 include_closed: bool = False, limit: int | None = None) -> list[RegisterPersonRow]:
    """Entries by id, of a category and within a region (a code's whole subtree) if given."""
    query = select(RegisterPersonRow)
    if not include_closed:
        query = query.where(col(RegisterPersonRow.closed_at).is_(None))
    if category is not None:
        query = query.where(RegisterPersonRow.category == category)
    if grid is not None:
        query = query.where(col(RegisterPersonRow.grid).startswith(grid[:tier_of(grid).digits]))
    query = query.order_by(col(RegisterPersonRow.id))
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def entries_due_between(session: Session, first: date, last: date) -> list[RegisterPersonRow]:
    """Entries that may have visits due in ``[first, last)``: started before ``last`` and not ended before
    ``first``, closed or not (the caller stops a closed entry's visits at its close; whether each day is
    due is the domain's question)."""
    query = select(RegisterPersonRow).where(
        col(RegisterPersonRow.start_date) < last,
        (col(RegisterPersonRow.end_date).is_(None)) | (col(RegisterPersonRow.end_date) >= first),
    ).order_by(col(RegisterPersonRow.id))
    return list(session.exec(query))


def close_entry(session: Session, entry_id: int, *, reason: str, actor: str, now: datetime) -> RegisterPersonRow | None:
    """Close an entry now (audited); None if there is none; :class:`RegisterClosed` if already closed."""
    row = session.get(RegisterPersonRow, entry_id)
    if row is None:
        return None
    if row.closed_at is not None:
        raise RegisterClosed(Message(N_("台账 #{id} 已于 {day} 注销（{reason}），无需再次注销"), id=entry_id,
                                     day=f"{row.closed_at:%Y-%m-%d}", reason=row.closed_reason))
    row.closed_at, row.closed_reason = now, reason[:500]
    session.add(row)
    append_audit(session=session, warning_id=None, actor=actor, action=REGISTER_CLOSED, reason=reason,
                 detail={"register": entry_id, "person": row.person, "category": row.category}, at=now)
    return row


def audit_import(session: Session, *, actor: str, detail: dict[str, Any], now: datetime) -> None:
    """Audit one import (file name, encoding, counts by reason, ids added: never an ID number)."""
    append_audit(session=session, warning_id=None, actor=actor, action=REGISTER_IMPORTED,
                 reason=str(detail.get("file", "")), detail=detail, at=now)
