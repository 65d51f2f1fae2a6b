"""Queueing the daily situation report to the city tier's responders through the outbox.

One outbox row per responder and channel, keyed ``report:<day>:<responder>:<channel>``: making the report
of a day twice (a retried flow, a manual re-run) queues nothing new, and a resend carries the same key.
Delivery is the outbox's ordinary sweep (``deliver_pending``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from domain.regions import Tier
from domain.responders import ResponderDirectory, recipients_for
from integrations.store.models import OutboxRow

REPORT_STEP = "report"
"""The outbox ``step`` of situation reports (they belong to no warning)."""


def report_key(day: date, recipient: str, channel: str) -> str:
    """Idempotency key of the report of ``day`` to one recipient over one channel."""
    return f"report:{day:%Y-%m-%d}:{recipient}:{channel}"


def queue_report(
    *,
    session: Session,
    day: date,
    subject: str,
    body: str,
    payload: Mapping[str, Any],
    directory: ResponderDirectory,
    now: datetime,
) -> list[OutboxRow]:
    """Queue the report of ``day`` to the city tier's on-duty responders (the duty leadership when the
    city node has none on duty), once per responder and channel; return the rows of that day's report."""
    people = recipients_for(directory.city, Tier.city, directory, now)
    wanted = [
        OutboxRow(
            idempotency_key=report_key(day, person.id, channel.type), warning_id=None, step=REPORT_STEP,
            recipient=person.id, channel=channel.type, address=channel.address, level="",
            subject=subject, body=body, payload={"kind": "situation-report", **payload},
            status="pending", next_attempt_at=now, created_at=now,
        )
        for person in people
        for channel in person.channels
    ]
    keys = [row.idempotency_key for row in wanted]
    key = col(OutboxRow.idempotency_key)
    existing = set(session.exec(select(OutboxRow.idempotency_key).where(key.in_(keys))))
    session.add_all(row for row in wanted if row.idempotency_key not in existing)
    session.flush()
    prefix = f"report:{day:%Y-%m-%d}:"
    query = select(OutboxRow).where(key.startswith(prefix)).order_by(col(OutboxRow.id))
    return list(session.exec(query))
