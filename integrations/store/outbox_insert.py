"""Writing outbox rows once per idempotency key: the one insert every writer of notifications uses
(routing, reminders of silences), below them all so none imports another to reach it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from integrations.store.models import OutboxRow

__all__ = ["insert_missing"]

_KEY = "idempotency_key"


def insert_missing(session: Session, rows: list[OutboxRow]) -> None:
    """Insert the rows whose idempotency key is not in the table yet (race-safe where the dialect allows)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    existing: set[str] = set()
    if dialect not in ("postgresql", "sqlite"):
        # Elsewhere no ON CONFLICT: the keys present are read first (PostgreSQL and SQLite skip this round trip).
        keys = [r.idempotency_key for r in rows]
        existing = set(session.exec(select(OutboxRow.idempotency_key).where(col(OutboxRow.idempotency_key).in_(keys))))
    values = [r.model_dump(exclude={"id"}) for r in rows if r.idempotency_key not in existing]
    if not values:
        return
    table = SQLModel.metadata.tables["outbox"]
    stmt: Any
    # ON CONFLICT DO NOTHING: a concurrent router that inserted the same key first wins, quietly. The rows
    # go as parameters of one cached statement (executemany, sent as one multi-row insert where the driver
    # allows), not as literal VALUES compiled anew for every step.
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=[_KEY])
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=[_KEY])
    else:
        stmt = sa.insert(table)
    session.execute(stmt, values)
