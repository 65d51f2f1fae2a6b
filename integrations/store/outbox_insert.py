"""Writing outbox rows once per idempotency key: the one insert every writer of notifications uses
(routing, reminders of silences), below them all so none imports another to reach it.

Inside :func:`deferred_outbox` (a batch's routing) the rows are kept and inserted together when the block
ends: one statement for a batch's notifications instead of one per routing step, in the same order (ids
ascend as before) and the same transaction. A read through :func:`flush_outbox` writes them first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from integrations.store.deferral import deferring
from integrations.store.models import OutboxRow

__all__ = ["deferred_outbox", "flush_outbox", "insert_missing", "outbox_deferred"]

_KEY = "idempotency_key"
_DEFERRED = "outbox-deferred"
"""Session info key: the rows given to :func:`insert_missing` inside :func:`deferred_outbox`, not yet written."""


@contextmanager
def deferred_outbox(session: Session) -> Iterator[None]:
    """Inside, :func:`insert_missing` keeps its rows; they are inserted together when the block ends (see
    the module). Nested blocks write at the outermost one's end; an exception leaves them unwritten (the
    transaction is rolled back anyway)."""
    with deferring(session, _DEFERRED, flush_outbox):
        yield


def outbox_deferred(session: Session) -> bool:
    """True inside :func:`deferred_outbox`: rows given to :func:`insert_missing` are not in the table yet."""
    return _DEFERRED in session.info


def flush_outbox(session: Session) -> None:
    """Insert the rows kept by :func:`deferred_outbox` now (nothing if none are kept)."""
    kept: list[dict[str, Any]] | None = session.info.get(_DEFERRED)
    if kept:
        values = list(kept)
        kept.clear()
        _insert(session, values)


def insert_missing(session: Session, rows: list[OutboxRow]) -> None:
    """Insert the rows whose idempotency key is not in the table yet (race-safe where the dialect allows)."""
    if not rows:
        return
    values = [r.model_dump(exclude={"id"}) for r in rows]  # as they are now (held or silenced already)
    kept: list[dict[str, Any]] | None = session.info.get(_DEFERRED)
    if kept is not None:
        kept.extend(values)
    else:
        _insert(session, values)


def _insert(session: Session, values: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        # Elsewhere no ON CONFLICT: the keys present are read first (PostgreSQL and SQLite skip this round trip).
        keys = [v[_KEY] for v in values]
        existing = set(session.exec(select(OutboxRow.idempotency_key).where(col(OutboxRow.idempotency_key).in_(keys))))
        values = [v for v in values if v[_KEY] not in existing]
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
