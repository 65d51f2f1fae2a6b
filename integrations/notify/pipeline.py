"""Sending the outbox, Alertmanager style: group → claim → render → send → settle, one function a stage.

:func:`deliver_pending` sends due rows at least once: each unit (a row, or a whole digest) is claimed,
rendered, sent, then settled and committed on its own, so a crash mid-sweep resends at most the unit that
was in flight — with the same idempotency key, which receivers use to drop the duplicate. Failures back
off exponentially with jitter; after ``max_attempts`` (or a non-retryable error) a row is ``dead`` until
``integrations.store.outbox.retry_dead``.

Blue and yellow rows for one recipient and channel can be grouped into a digest (``digest_window``;
``integrations.store.digests``): one message under a key derived from its members' keys, the membership
committed before the send so that a resend after a crash is the same digest under the same key. Rows
are read and written only through ``integrations.store``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from integrations.i18n import explain
from integrations.notify.base import Channel, DeliveryError, Notification
from integrations.notify.digest import digest_notification
from integrations.notify.templates import MessageTemplates
from integrations.store.digests import claim_digest, digest_of, form_digests, is_held
from integrations.store.models import OutboxRow
from integrations.store.outbox import DEAD, PENDING, SENT, awaits_grouping, claim_row, due_rows, record_attempt

Unit = int | tuple[str, str, str]
"""A unit of sending: an outbox row id, or a digest (key, recipient, channel) sent whole once."""
Failure = tuple[str, bool]
"""(error text, retryable) of a failed send."""


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
    more_due: bool = True
    """False when the sweep's plan read fewer due rows than its limit: it saw everything due by ``now``."""

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


def plan(engine: sa.Engine, channels: Mapping[str, Channel], *, now: datetime, limit: int,
         window: timedelta | None, report: DeliveryReport) -> list[Unit]:
    """Group (form the digests whose window closed) and list the units due, in due order; rows still
    waiting for their digest window are only noted as held."""
    if window:
        form_digests(engine, list(channels), now=now, window=window)
    with Session(engine) as session:
        candidates = due_rows(session, list(channels), now=now, limit=limit, window=window)
    # Fewer than the limit (the ready rows and those waiting for their digest together): none was left out.
    report.more_due = len(candidates) >= limit
    units: list[Unit] = []
    for c in candidates:
        member_of = digest_of(c)
        if member_of:
            group = (member_of, c.recipient, c.channel)
            if group not in units:
                units.append(group)
        elif is_held(c.level, c.created_at, c.attempts, c.payload, now=now, window=window):
            report.held_keys.append(c.idempotency_key)
        elif c.id is not None:
            units.append(c.id)
    return units


def claim(session: Session, unit: Unit, *, now: datetime, window: timedelta | None) -> list[OutboxRow]:
    """The unit's rows, locked for this transaction, or ``[]`` if they are no longer to send by this sweep."""
    if not isinstance(unit, int):
        return claim_digest(session, *unit, now)
    row = claim_row(session, unit, now)
    # Read as a single row, it may have joined a digest since (a concurrent sweep grouped it): then it
    # goes with its digest, never alone.
    if row is None or digest_of(row) is not None or (window and awaits_grouping(session, row)):
        return []
    return [row]


def render(rows: list[OutboxRow], unit: Unit, window: timedelta | None,
           templates: MessageTemplates | None = None) -> Notification:
    """The one message for the unit: the row's own, or the digest of its members under the digest's key
    (laid out by the ``digest`` template of ``templates``; None: the settings')."""
    if isinstance(unit, int):
        return notification_of(rows[0])
    return digest_notification([notification_of(r) for r in rows], unit[0], window, templates=templates)


def send(channel: Channel, message: Notification) -> Failure | None:
    """Send; None when delivered, else (error text, retryable)."""
    try:
        channel.send(message)
    except Exception as exc:
        # The contract is DeliveryError; anything else is a channel bug, retried like a transient failure
        # so that one bad row never stops the sweep.
        if isinstance(exc, DeliveryError):  # kept in the deployment's language: officials read it in the lists
            return explain(exc)[:2000], exc.retryable
        return f"{type(exc).__name__}: {exc}"[:2000], True
    return None


def settle(session: Session, rows: list[OutboxRow], failure: Failure | None, *, now: datetime,
           backoff: Backoff, rng: random.Random, report: DeliveryReport) -> None:
    """Record one attempt's outcome on the unit's rows (sent, retried after a backoff, or dead) and commit."""
    attempts = max(r.attempts for r in rows) + 1
    keys = [r.idempotency_key for r in rows]
    # Drawn on every failure, dead or not, so a seeded sweep's later delays do not depend on the outcome.
    wait = backoff.delay(attempts, rng) if failure else timedelta(0)
    if failure is None:
        record_attempt(session, rows, attempts=attempts, status=SENT, now=now)
        report.sent_keys.extend(keys)
    elif not failure[1] or attempts >= backoff.max_attempts:
        record_attempt(session, rows, attempts=attempts, status=DEAD, now=now, error=failure[0])
        report.dead_keys.extend(keys)
    else:
        record_attempt(session, rows, attempts=attempts, status=PENDING, now=now, error=failure[0],
                       retry_at=now + wait)
        report.failed_keys.extend(keys)


def deliver_pending(
    engine: sa.Engine, channels: Mapping[str, Channel], *, now: datetime, limit: int = 100,
    backoff: Backoff | None = None, rng: random.Random | None = None, digest_window: timedelta | None = None,
    templates: MessageTemplates | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` pending rows due by ``now`` over the configured ``channels`` (by name).

    Rows of channels not configured here are left pending for a sweep that has them. With a
    ``digest_window`` (the policy's; None or 0: off), blue and yellow rows for one recipient and channel
    wait until the window of their group closes and then go as one digest: one send under the digest's
    key, every member marked sent. Orange and red rows are never held.
    """
    backoff, rng, report = backoff or Backoff(), rng or random.Random(), DeliveryReport()
    units = plan(engine, channels, now=now, limit=limit, window=digest_window, report=report)
    # One session for the sweep (no pool checkout per row) but one transaction per row or digest.
    with Session(engine, expire_on_commit=False) as session:
        for unit in units:
            rows = claim(session, unit, now=now, window=digest_window)
            if not rows:
                session.rollback()  # sent or claimed by a concurrent sweep meanwhile: end the transaction
                continue
            failure = send(channels[rows[0].channel], render(rows, unit, digest_window, templates))
            settle(session, rows, failure, now=now, backoff=backoff, rng=rng, report=report)
            if failure is None and not isinstance(unit, int):
                report.digest_keys.append(unit[0])
    return report
