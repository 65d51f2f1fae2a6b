"""The outbox: notifications written with the warning change behind them, delivered afterwards.

Rows are written by :func:`route_warning` (``integrations.store.routing``, re-exported here) in the warning's own
transaction. :func:`deliver_pending` sends them at least once: each row is sent, then marked sent and
committed on its own, so a crash mid-sweep resends at most the row that was in flight — with the same
idempotency key, which receivers use to drop the duplicate. Failures back off exponentially with jitter;
after ``max_attempts`` (or a non-retryable error) a row is ``dead`` until :func:`retry_dead`.

Blue and yellow rows for one recipient and channel can be grouped into a digest (``digest_window``;
``integrations.store.digests``): one message under a key derived from its members' keys, the membership
committed before the send so that a resend after a crash is the same digest under the same key.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from integrations.notify.base import Channel, DeliveryError, Notification
from integrations.notify.digest import DIGEST_LEVELS, digest_notification
from integrations.store.digests import claim_digest, digest_of, form_digests, is_held, siblings, sqlite_write_lock
from integrations.store.models import OutboxRow
from integrations.store.routing import make_router, route_warning

__all__ = [
    "Backoff",
    "DeliveryReport",
    "deliver_pending",
    "list_notifications",
    "make_router",
    "retry_dead",
    "route_warning",
]

PENDING, SENT, DEAD = "pending", "sent", "dead"


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits about ``base * 2**(n-1)``, at most ``cap``."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 8

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """Wait before the next try after ``attempts`` failed ones (equal jitter: half fixed, half random)."""
        full: timedelta = min(self.cap, self.base * (2 ** max(0, attempts - 1)))
        return full / 2 + (full / 2) * rng.random()


@dataclass
class DeliveryReport:
    """What one sweep did: counts of rows sent, failed (to be retried) and given up (dead), with keys."""

    sent_keys: list[str] = field(default_factory=list)
    failed_keys: list[str] = field(default_factory=list)
    dead_keys: list[str] = field(default_factory=list)
    digest_keys: list[str] = field(default_factory=list)
    """Digests delivered in this sweep (their members' keys are in ``sent_keys``)."""
    held_keys: list[str] = field(default_factory=list)
    """Blue/yellow rows left waiting because their digest window is still open."""

    @property
    def sent(self) -> int:
        """Rows delivered in this sweep."""
        return len(self.sent_keys)

    @property
    def failed(self) -> int:
        """Rows that failed and will be retried after their backoff."""
        return len(self.failed_keys)

    @property
    def dead(self) -> int:
        """Rows given up in this sweep (limit reached or a permanent error)."""
        return len(self.dead_keys)

    @property
    def attempted(self) -> int:
        """Rows tried in this sweep (each member of a digest counts)."""
        return self.sent + self.failed + self.dead


def notification_of(row: OutboxRow) -> Notification:
    """The message a channel receives for an outbox row (carrying its idempotency key)."""
    return Notification(
        idempotency_key=row.idempotency_key, warning_id=row.warning_id, step=row.step,
        recipient=row.recipient, channel=row.channel, address=row.address, level=row.level,
        subject=row.subject, body=row.body, payload=row.payload, created_at=row.created_at,
    )


def _claim(session: Session, row_id: int, now: datetime) -> OutboxRow | None:
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


def _awaits_grouping(session: Session, row: OutboxRow) -> bool:
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


def _send(channel: Channel, message: Notification) -> tuple[str, bool] | None:
    """Send; None when delivered, else (error text, retryable)."""
    try:
        channel.send(message)
    except Exception as exc:
        # The contract is DeliveryError; anything else is a channel bug, retried like a transient failure
        # so that one bad row never stops the sweep.
        retryable = exc.retryable if isinstance(exc, DeliveryError) else True
        return f"{type(exc).__name__}: {exc}"[:2000], retryable
    return None


def _settle(
    rows: list[OutboxRow], failure: tuple[str, bool] | None, *, now: datetime, backoff: Backoff,
    rng: random.Random, report: DeliveryReport,
) -> None:
    """Record one attempt's outcome on ``rows`` (one row, or every member of one digest, alike)."""
    attempts = max(r.attempts for r in rows) + 1
    wait = backoff.delay(attempts, rng) if failure else timedelta(0)
    for row in rows:
        row.attempts = attempts
        if failure is None:
            row.status, row.sent_at = SENT, now
            report.sent_keys.append(row.idempotency_key)
        elif not failure[1] or attempts >= backoff.max_attempts:
            row.status, row.last_error = DEAD, failure[0]
            report.dead_keys.append(row.idempotency_key)
        else:
            row.next_attempt_at, row.last_error = now + wait, failure[0]
            report.failed_keys.append(row.idempotency_key)


def deliver_pending(
    engine: sa.Engine,
    channels: Mapping[str, Channel],
    *,
    now: datetime,
    limit: int = 100,
    backoff: Backoff | None = None,
    rng: random.Random | None = None,
    digest_window: timedelta | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` pending rows due by ``now`` over the configured ``channels`` (by name).

    Rows of channels not configured here are left pending for a sweep that has them. Each row is
    committed on its own after its send, so a crash resends at most one row (same idempotency key).

    With a ``digest_window`` (the policy's ``digest_window``; None or 0: off), blue and yellow rows for
    one recipient and channel wait until the window of their group closes and then go as one digest
    (``integrations.store.digests``): one send under the digest's key, every member marked sent with that key
    in its payload. Orange and red rows are never held.
    """
    backoff = backoff or Backoff()
    rng = rng or random.Random()
    report = DeliveryReport()
    if digest_window:
        form_digests(engine, list(channels), now=now, window=digest_window)
    due = select(OutboxRow).where(OutboxRow.status == PENDING, col(OutboxRow.next_attempt_at) <= now,
                                  col(OutboxRow.channel).in_(list(channels)))
    # Rows that may be waiting for their digest window are read apart, so that however many wait they
    # never take the places (``limit``) of the rows that are ready, orange and red above all.
    recent = (sa.and_(col(OutboxRow.level).in_(sorted(DIGEST_LEVELS)), col(OutboxRow.attempts) == 0,
                      col(OutboxRow.created_at) > now - digest_window) if digest_window else None)
    with Session(engine) as session:
        ready = due.where(sa.not_(recent)) if recent is not None else due
        candidates = list(session.exec(ready.order_by(col(OutboxRow.next_attempt_at), col(OutboxRow.id))
                                       .limit(limit)))
        if recent is not None:
            candidates += session.exec(due.where(recent).order_by(col(OutboxRow.id)))
    # Units of work, in due order: a row id, or a digest (key, recipient, channel) sent whole once.
    units: list[int | tuple[str, str, str]] = []
    for c in candidates:
        member_of = digest_of(c)
        if member_of:
            group = (member_of, c.recipient, c.channel)
            if group not in units:
                units.append(group)
        elif is_held(c.level, c.created_at, c.attempts, c.payload, now=now, window=digest_window):
            report.held_keys.append(c.idempotency_key)
        elif c.id is not None:
            units.append(c.id)
    # One session for the sweep (no pool checkout per row) but one transaction per row or digest.
    with Session(engine, expire_on_commit=False) as session:
        for unit in units:
            if isinstance(unit, int):
                row = _claim(session, unit, now)
                rows = [row] if row is not None else []
                # Read as a single row, it may have joined a digest since (a concurrent sweep grouped it):
                # then it goes with its digest, never alone.
                if rows and (digest_of(rows[0]) is not None
                             or (digest_window and _awaits_grouping(session, rows[0]))):
                    rows = []
            else:
                rows = claim_digest(session, *unit, now)
            if not rows:
                session.rollback()  # sent or claimed by a concurrent sweep meanwhile: end the transaction
                continue
            if isinstance(unit, int):
                message = notification_of(rows[0])
            else:
                message = digest_notification([notification_of(r) for r in rows], unit[0], digest_window)
            failure = _send(channels[rows[0].channel], message)
            _settle(rows, failure, now=now, backoff=backoff, rng=rng, report=report)
            if failure is None and not isinstance(unit, int):
                report.digest_keys.append(unit[0])
            session.add_all(rows)
            session.commit()
    return report


def list_notifications(
    *, session: Session, failed: bool = False, warning_id: int | None = None, limit: int = 200
) -> list[OutboxRow]:
    """Outbox rows, newest first; ``failed`` keeps dead rows and pending rows that have failed before."""
    query = select(OutboxRow)
    if warning_id is not None:
        query = query.where(OutboxRow.warning_id == warning_id)
    if failed:
        retrying = sa.and_(col(OutboxRow.status) == PENDING, col(OutboxRow.attempts) > 0)
        query = query.where(sa.or_(col(OutboxRow.status) == DEAD, retrying))
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
