"""The outbox in the store: notifications written with the warning change behind them, delivered afterwards.

Rows are written by routing (``integrations.store.routing.record_route``) in the warning's own
transaction. The delivery pipeline (``integrations.notify.pipeline``) reads the due rows here, claims
them one unit (a row, or a digest) per transaction, and records each attempt's outcome here: sent;
pending again after a backoff; or ``dead`` until :func:`retry_dead`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.routing import DIGEST_LEVELS
from integrations.store.digests import siblings, sqlite_write_lock
from integrations.store.models import OutboxRow
from integrations.store.outbox_status import DEAD, PENDING, SENT

__all__ = [
    "DEAD",
    "PENDING",
    "SENT",
    "awaits_grouping",
    "claim_row",
    "due_rows",
    "list_notifications",
    "record_attempt",
    "retry_dead",
    "state_of",
]


def due_rows(session: Session, channels: Collection[str], *, now: datetime, limit: int,
             window: timedelta | None) -> list[OutboxRow]:
    """Pending rows of ``channels`` due by ``now``: up to ``limit`` ready ones in due order, then every
    blue/yellow row still inside its digest ``window`` (read apart, so that however many wait they never
    take the places of the rows that are ready, orange and red above all)."""
    due = select(OutboxRow).where(OutboxRow.status == PENDING, col(OutboxRow.next_attempt_at) <= now,
                                  col(OutboxRow.channel).in_(list(channels)))
    recent = (sa.and_(col(OutboxRow.level).in_(sorted(DIGEST_LEVELS)), col(OutboxRow.attempts) == 0,
                      col(OutboxRow.created_at) > now - window) if window else None)
    ready = due.where(sa.not_(recent)) if recent is not None else due
    rows = list(session.exec(ready.order_by(col(OutboxRow.next_attempt_at), col(OutboxRow.id)).limit(limit)))
    if recent is not None:
        rows += session.exec(due.where(recent).order_by(col(OutboxRow.id)))
    return rows


def claim_row(session: Session, row_id: int, now: datetime) -> OutboxRow | None:
    """The row if it is still due, locked until this transaction ends: on PostgreSQL a concurrent sweep
    skips it, on SQLite it waits and then finds it sent."""
    due = (OutboxRow.id == row_id, OutboxRow.status == PENDING, col(OutboxRow.next_attempt_at) <= now)
    if not sqlite_write_lock(session, *due):
        return None
    # populate_existing: the sweep's session may hold this row from an earlier read; take it as it is now.
    query = select(OutboxRow).where(*due).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        # Marking a row sent need not wait for the WAL flush: were the server to lose that commit, the
        # row is sent again under the same key and the receiver drops it (delivery is at least once).
        session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
        query = query.with_for_update(skip_locked=True)
    return session.exec(query).first()


def awaits_grouping(session: Session, row: OutboxRow) -> bool:
    """True if ``row`` could still join a digest: a never-tried blue/yellow row with no digest yet that has
    a sibling like it (same recipient and channel): its group is being formed by a concurrent sweep, and
    sending it alone would split the digest. The next sweep's ``form_digests`` takes it; a row alone in its
    group is sent as itself."""
    if row.level not in DIGEST_LEVELS or row.attempts > 0:
        return False
    like = select(sa.func.count()).select_from(OutboxRow).where(
        OutboxRow.recipient == row.recipient, OutboxRow.channel == row.channel, OutboxRow.status == PENDING,
        OutboxRow.attempts == 0, col(OutboxRow.level).in_(sorted(DIGEST_LEVELS)), OutboxRow.id != row.id)
    return bool(session.exec(like).one())


def record_attempt(session: Session, rows: list[OutboxRow], *, attempts: int, status: str, now: datetime,
                   error: str = "", retry_at: datetime | None = None) -> None:
    """Record one attempt's outcome on ``rows`` (one row, or every member of one digest, alike) and commit:
    ``sent`` (at ``now``), ``pending`` again at ``retry_at``, or ``dead`` — each unit on its own commit, so
    a crash resends at most the unit in flight."""
    for row in rows:
        row.attempts = attempts
        if status == SENT:
            row.status, row.sent_at = SENT, now
        elif status == DEAD:
            row.status, row.last_error = DEAD, error
        else:
            assert retry_at is not None
            row.next_attempt_at, row.last_error = retry_at, error
    session.add_all(rows)
    session.commit()


STATES = ("queued", "sent", "failed", "dead", "silenced", "held", "not_needed")
"""What ``fenghuo notifications list --status`` filters by: ``queued`` (pending, never failed), ``failed``
(dead, or pending after a failure: what ``--failed`` shows), and the stored statuses by name."""


def state_of(row: OutboxRow) -> str:
    """The state a user reads for ``row``: ``queued`` or ``failed`` for a pending row (by whether a send
    has failed before), else its stored status."""
    if row.status == PENDING:
        return "failed" if row.attempts > 0 else "queued"
    return row.status


def list_notifications(
    *, session: Session, failed: bool = False, warning_id: int | None = None, limit: int = 200,
    state: str | None = None,
) -> list[OutboxRow]:
    """Outbox rows, newest first; ``failed`` keeps dead rows and pending rows that have failed before;
    ``state`` (one of :data:`STATES`) keeps the rows in that state (``failed`` as ``failed=True``)."""
    query = select(OutboxRow)
    if warning_id is not None:
        query = query.where(OutboxRow.warning_id == warning_id)
    retrying = sa.and_(col(OutboxRow.status) == PENDING, col(OutboxRow.attempts) > 0)
    if failed or state == "failed":
        query = query.where(sa.or_(col(OutboxRow.status) == DEAD, retrying))
    elif state == "queued":
        query = query.where(col(OutboxRow.status) == PENDING, col(OutboxRow.attempts) == 0)
    elif state is not None:
        query = query.where(col(OutboxRow.status) == state)
    return list(session.exec(query.order_by(col(OutboxRow.id).desc()).limit(limit)))


def retry_dead(*, session: Session, ids: Iterable[int] | None = None, now: datetime) -> int:
    """Put dead rows (these ``ids``, or all) back to pending, due at ``now`` with a fresh attempt budget.

    The idempotency key is unchanged: a receiver that did get an earlier attempt drops the resend.
    """
    query = select(OutboxRow).where(OutboxRow.status == DEAD)
    if ids is not None:
        query = query.where(col(OutboxRow.id).in_(list(ids)))
    rows = {r.id: r for r in session.exec(query)}
    # A digest is retried whole (its members share one send), whichever of its members was named.
    rows.update((r.id, r) for r in siblings(session, list(rows.values()), DEAD))
    for row in rows.values():
        row.status, row.attempts, row.next_attempt_at = PENDING, 0, now
        session.add(row)
    session.flush()
    return len(rows)
