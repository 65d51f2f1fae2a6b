"""Grouping blue and yellow notifications into digests, in the delivery stage (Alertmanager-style).

Blue and yellow outbox rows for one (recipient, channel) wait while the group's window is open: the
window opens with the group's oldest row (its ``created_at``) and lasts the policy's ``digest_window``.
When it closes, a group of two or more rows becomes one digest: every member gets the digest's key (and
the group size) written into its ``payload`` and committed *before* anything is sent. A crash after the
send and before the members are marked sent therefore resends the same group under the same key, and a
receiver that dedups by key drops it. A group of one is sent as its own notification. Orange and red
rows never wait. Only rows never attempted are grouped: a row that failed alone keeps its own key.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from domain.routing import DIGEST_LEVELS, digest_key
from integrations.store.models import OutboxRow
from integrations.store.outbox_status import PENDING

DIGEST_KEY = "digest_key"
"""Payload field of a member row: the key of the digest it is sent in."""
DIGEST_SIZE = "digest_size"
"""Payload field of a member row: how many rows its digest has."""
FORMING_LOCK = 0x46484447
"""The PostgreSQL advisory lock (held to the commit) that lets one sweep at a time form digests."""
_Q = TypeVar("_Q", bound=SelectOfScalar[OutboxRow])


def digest_of(row: OutboxRow) -> str | None:
    """The digest key ``row`` is a member of, or None."""
    key = (row.payload or {}).get(DIGEST_KEY)
    return str(key) if key else None


def is_held(row_level: str, created_at: datetime, attempts: int, payload: dict[str, object] | None,
            *, now: datetime, window: timedelta | None) -> bool:
    """True if a row waits for its digest window to close (blue/yellow, never tried, no digest yet)."""
    if not window or row_level not in DIGEST_LEVELS or attempts > 0 or (payload or {}).get(DIGEST_KEY):
        return False
    return created_at > now - window


def sqlite_write_lock(session: Session, *where: Any) -> bool:
    """On SQLite, take the database's write lock now, by a no-op UPDATE of the rows about to be grouped or
    claimed: a concurrent sweep then waits until this transaction ends and finds them sent. SQLite's stand-in
    for PostgreSQL's ``FOR UPDATE SKIP LOCKED``. Returns whether any row matched; elsewhere True, a no-op."""
    if session.get_bind().dialect.name != "sqlite":
        return True
    touch = (sa.update(OutboxRow).where(*where).values(attempts=col(OutboxRow.attempts))
             .execution_options(synchronize_session=False))
    result: Any = session.execute(touch)
    return bool(result.rowcount)


def _lock(session: Session, query: _Q) -> _Q:
    # On PostgreSQL two sweeps must not group (or send) the same rows: the second skips locked ones.
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def form_digests(
    engine: sa.Engine, channels: Collection[str], *, now: datetime, window: timedelta, limit: int = 5000
) -> list[str]:
    """Turn every (recipient, channel) group of due, never-tried blue/yellow rows whose window has closed
    by ``now`` into a digest (two members or more); commit the membership; return the new digest keys."""
    formed: list[str] = []
    candidate = (OutboxRow.status == PENDING, col(OutboxRow.next_attempt_at) <= now,
                 col(OutboxRow.channel).in_(list(channels)), col(OutboxRow.level).in_(sorted(DIGEST_LEVELS)),
                 OutboxRow.attempts == 0)
    with Session(engine) as session:
        if not sqlite_write_lock(session, *candidate):
            return formed
        if session.get_bind().dialect.name == "postgresql" and not session.execute(
                sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": FORMING_LOCK}).scalar():
            # Another sweep is forming digests: with both scanning, each would skip the rows the other had
            # locked so far and a group could split in two. Its groups come out whole; the rest wait for
            # the next sweep (rows that could still join a digest are not sent alone: awaits_grouping).
            return formed
        query = select(OutboxRow).where(*candidate).order_by(col(OutboxRow.id)).limit(limit)
        groups: dict[tuple[str, str], list[OutboxRow]] = {}
        for row in session.exec(_lock(session, query)):
            if digest_of(row) is None:
                groups.setdefault((row.recipient, row.channel), []).append(row)
        for members in groups.values():
            if len(members) < 2 or min(m.created_at for m in members) + window > now:
                continue  # alone (sent as itself) or the window is still open (wait for more)
            key = digest_key(m.idempotency_key for m in members)
            for m in members:
                # A new dict: the JSON column only notices a reassignment, not an in-place change.
                m.payload = {**m.payload, DIGEST_KEY: key, DIGEST_SIZE: len(members)}
                session.add(m)
            formed.append(key)
        session.commit()
    return formed


def claim_digest(session: Session, key: str, recipient: str, channel: str, now: datetime) -> list[OutboxRow]:
    """The pending, due members of digest ``key`` (oldest first), or ``[]`` unless all of them are there
    (a concurrent sweep holds some, or they are not due): a digest is sent whole or not at all."""
    mine = (OutboxRow.recipient == recipient, OutboxRow.channel == channel, OutboxRow.status == PENDING,
            col(OutboxRow.next_attempt_at) <= now)
    if not sqlite_write_lock(session, *mine):
        return []
    query = select(OutboxRow).where(*mine).order_by(col(OutboxRow.id)).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        # As for single rows (``outbox._claim``): a lost "sent" mark only means a resend under the same key.
        # The membership itself (``form_digests``) is committed synchronously: it must never be lost.
        session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
    rows = [r for r in session.exec(_lock(session, query)) if digest_of(r) == key]
    if not rows or len(rows) != int(rows[0].payload.get(DIGEST_SIZE, 0)):
        return []
    return rows


def siblings(session: Session, rows: Iterable[OutboxRow], status: str) -> list[OutboxRow]:
    """The rows of ``status`` in the same digests as ``rows`` (so a digest is retried whole)."""
    keys = {(r.recipient, r.channel, k) for r in rows if (k := digest_of(r))}
    out: list[OutboxRow] = []
    for recipient, channel, key in keys:
        query = select(OutboxRow).where(OutboxRow.recipient == recipient, OutboxRow.channel == channel,
                                        OutboxRow.status == status)
        out.extend(r for r in session.exec(query) if digest_of(r) == key)
    return out
