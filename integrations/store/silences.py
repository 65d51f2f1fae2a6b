"""Silences in the store, and the outbox rows they hold.

Whether a silence covers a warning is decided in the domain (:mod:`domain.silences`). Here: the table,
creating (refusals audited), listing and expiring silences; holding a routing step's rows
(:func:`hold_if_silenced`, called by ``integrations.store.routing.record_route`` in the warning's own
transaction); and ending holds (:func:`release_held`): a row nothing holds any more is sent once under its
own idempotency key if its warning is still open, or marked ``not_needed`` if the warning was resolved.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Field, Session, SQLModel, col, select

from domain.messages import N_, Message
from domain.responders import ResponderDirectory
from domain.schedules import parse_schedule
from domain.silences import Silence, SilenceIndex, refusal, release_outcome
from domain.warnings import Level

# The models first: importing them registers every table, and the audit module cannot be the first of the
# store's modules imported (models -> users -> audit would find it half loaded).
from integrations.store import models as _models  # noqa: F401  isort: skip
from domain.beijing import BEIJING
from integrations.store.audit import append_audit
from integrations.store.columns import _dt, utcnow
from integrations.store.models import OutboxRow, WarningRow
from integrations.store.outbox_insert import insert_missing
from integrations.store.outbox_status import NOT_NEEDED, PENDING, SILENCED

SILENCE_CREATED, SILENCE_REFUSED, SILENCE_EXPIRED = "silence-created", "silence-refused", "silence-expired"
"""Audit actions (rows without a warning) of creating, refusing and expiring a silence."""
HELD_BY_SILENCE, HOLD_RELEASED, HOLD_NOT_NEEDED = "silenced", "silence-released", "silence-not-needed"
"""Audit actions on a warning whose notifications a silence held, released, or found not needed."""
SYSTEM = "system:silences"
_CACHE = "fenghuo.silences"


class SilenceRow(SQLModel, table=True):
    """A silence: which warnings it covers, from when until when, why, and who set it."""

    __tablename__ = "silence"

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(index=True, max_length=100)
    region: str | None = Field(default=None, max_length=15)
    level: str | None = Field(default=None, max_length=10)
    category: str | None = Field(default=None, max_length=100)
    starts_at: datetime = _dt()
    until: datetime = _dt(index=True)
    reason: str
    author: str = Field(max_length=100)
    created_at: datetime = _dt(default_factory=utcnow)
    expired_at: datetime | None = _dt(default=None, nullable=True)
    expired_by: str | None = Field(default=None, max_length=100)
    schedule: str | None = Field(default=None, max_length=500)
    """A recurring silence's schedule (canonical spec, ``domain.schedules``); None: one continuous span."""


class SilenceRefused(ValueError):
    """A silence the author may not create; the message (Chinese) says why and what to do."""


def to_domain(row: SilenceRow) -> Silence:
    """The domain's view of a stored silence."""
    assert row.id is not None
    return Silence(id=row.id, rule=row.rule, region=row.region, level=row.level, category=row.category,
                   starts_at=row.starts_at, until=row.until, reason=row.reason, author=row.author,
                   expired_at=row.expired_at, schedule=parse_schedule(row.schedule) if row.schedule else None)


def add_silence(session: Session, *, directory: ResponderDirectory, author: str, rule: str, region: str | None,
                level: str | None, category: str | None, until: datetime, reason: str, now: datetime,
                max_length: timedelta, schedule: str | None = None) -> SilenceRow:
    """Create a silence from ``now`` to ``until`` in the caller's transaction, audited; raise
    :class:`SilenceRefused` (after auditing the refusal in a transaction of its own) when ``author`` may not."""
    why = refusal(directory, author, region=region, level=level, starts_at=now, until=until,
                  max_length=max_length)
    detail: dict[str, Any] = {"rule": rule, "region": region, "level": level, "category": category,
                              "until": until.isoformat(), "reason": reason, "schedule": schedule}
    if why is not None:
        # In its own transaction: the refusal's audit row must survive the caller's rollback.
        with Session(session.get_bind()) as own:
            append_audit(session=own, warning_id=None, actor=author, action=SILENCE_REFUSED, reason=why,
                         detail=detail, at=now)
            own.commit()
        raise SilenceRefused(why)
    row = SilenceRow(rule=rule, region=region, level=level, category=category, starts_at=now, until=until,
                     reason=reason, author=author, created_at=now,
                     schedule=parse_schedule(schedule).text() if schedule else None)
    session.add(row)
    session.flush()
    _forget(session)
    append_audit(session=session, warning_id=None, actor=author, action=SILENCE_CREATED, reason=reason,
                 detail={**detail, "silence": row.id}, at=now)
    return row


def list_silences(session: Session, *, now: datetime, include_ended: bool = False) -> list[SilenceRow]:
    """Silences, newest first: only those not yet ended at ``now`` unless ``include_ended``."""
    query = select(SilenceRow)
    if not include_ended:
        query = query.where(col(SilenceRow.until) > now, col(SilenceRow.expired_at).is_(None))
    return list(session.exec(query.order_by(col(SilenceRow.id).desc())))


def expire_silence(session: Session, silence_id: int, *, actor: str, now: datetime) -> SilenceRow | None:
    """End a silence now (audited); None if there is no such silence. Ending one already ended is a no-op.
    Its held notifications go out at the next :func:`release_held` (the next delivery sweep)."""
    row = session.get(SilenceRow, silence_id)
    if row is None:
        return None
    if row.expired_at is None and row.until > now:
        row.expired_at, row.expired_by = now, actor
        session.add(row)
        _forget(session)
        append_audit(session=session, warning_id=None, actor=actor, action=SILENCE_EXPIRED,
                     reason=f"silence {silence_id}", detail={"silence": silence_id}, at=now)
    return row


def active_silences(session: Session, now: datetime, rule: str | None = None) -> list[Silence]:
    """Silences active at ``now`` (of ``rule`` only, if given)."""
    query = select(SilenceRow).where(col(SilenceRow.starts_at) <= now, col(SilenceRow.until) > now,
                                     col(SilenceRow.expired_at).is_(None))
    if rule is not None:
        query = query.where(SilenceRow.rule == rule)
    return [to_domain(r) for r in session.exec(query)]


def _index(session: Session, now: datetime) -> SilenceIndex:
    """The silences in force at ``now``, read once per transaction and routing time: a batch routing
    thousands of warnings reads the table once. A silence created meanwhile by another process takes
    effect from the next transaction."""
    key = (_CACHE, now)
    index = session.info.get(key)
    if index is None:
        _forget(session)
        index = session.info[key] = SilenceIndex(active_silences(session, now))
    return index


def _forget(session: Session) -> None:
    """Drop the session's cached silences (a silence was created or ended in it)."""
    for key in [k for k in session.info if isinstance(k, tuple) and k[:1] == (_CACHE,)]:
        del session.info[key]


def covering_silence(session: Session, warning: WarningRow, *, categories: Collection[str],
                     now: datetime) -> Silence | None:
    """The active silence that covers ``warning`` at ``now``, if any (what :func:`hold_if_silenced` holds by)."""
    return _index(session, now).covering(rule=warning.rule, region=warning.region, level=warning.level,
                                         categories=categories, at=now)


def hold_if_silenced(session: Session, warning: WarningRow, rows: Sequence[OutboxRow], *,
                     categories: Collection[str], now: datetime) -> Silence | None:
    """Mark a step's new ``rows`` ``silenced`` (before they are inserted) if an active silence covers
    ``warning`` at ``now``, noting the silence on each row and in the warning's audit; return it."""
    if not rows:
        return None
    silence = _index(session, now).covering(rule=warning.rule, region=warning.region, level=warning.level,
                                            categories=categories, at=now)
    if silence is None:
        return None
    for row in rows:
        row.status = SILENCED
        row.payload = {**row.payload, "silence": silence.id, "silence_reason": silence.reason,
                       "categories": sorted(categories)}
    append_audit(session=session, warning_id=warning.id, actor=SYSTEM, action=HELD_BY_SILENCE,
                 reason=silence.reason, detail={"silence": silence.id, "step": rows[0].step}, at=now)
    return silence


def release_held(session: Session, *, now: datetime) -> dict[str, int]:
    """End the holds nothing covers any more at ``now``, in the caller's transaction.

    A held row whose warning another active silence still covers stays held (and now names that one).
    Otherwise it becomes due at ``now`` with its own idempotency key (sent once by the next delivery
    sweep) if the warning is still open, or ``not_needed`` if the warning was resolved meanwhile. Each
    warning's release is audited. Returns ``{"released": n, "not_needed": m, "held": k}``.
    """
    held = list(session.exec(select(OutboxRow).where(OutboxRow.status == SILENCED).order_by(col(OutboxRow.id))))
    counts = {"released": 0, "not_needed": 0, "held": 0}
    if not held:
        return counts
    active = SilenceIndex(active_silences(session, now))
    audited: set[tuple[int, str]] = set()
    for row in held:
        warning = session.get(WarningRow, row.warning_id) if row.warning_id is not None else None
        status = warning.status if warning is not None else "resolved"
        still = None
        if warning is not None:
            still = active.covering(rule=warning.rule, region=warning.region, level=warning.level,
                                    categories=row.payload.get("categories") or (), at=now)
        outcome = release_outcome(still_silenced=still is not None, warning_status=status)
        if outcome == "keep":
            assert still is not None
            row.payload = {**row.payload, "silence": still.id, "silence_reason": still.reason}
            counts["held"] += 1
        elif outcome == "send":
            row.status, row.next_attempt_at = PENDING, now
            counts["released"] += 1
        else:
            row.status, row.last_error = NOT_NEEDED, N_("预警已在静默期间办结，无需发送")
            counts["not_needed"] += 1
        session.add(row)
        if outcome != "keep" and row.warning_id is not None and (row.warning_id, outcome) not in audited:
            audited.add((row.warning_id, outcome))
            append_audit(session=session, warning_id=row.warning_id, actor=SYSTEM,
                         action=HOLD_RELEASED if outcome == "send" else HOLD_NOT_NEEDED,
                         reason=str(row.payload.get("silence_reason", "")),
                         detail={"silence": row.payload.get("silence")}, at=now)
    session.flush()
    return counts


def held_by(session: Session, warning_id: int) -> list[OutboxRow]:
    """A warning's notifications held by a silence now."""
    query = select(OutboxRow).where(OutboxRow.warning_id == warning_id, OutboxRow.status == SILENCED)
    return list(session.exec(query.order_by(col(OutboxRow.id))))


def silenced_reasons(session: Session, warning_ids: Collection[int]) -> dict[int, str]:
    """For each of ``warning_ids`` with notifications held by a silence now: that silence's reason."""
    if not warning_ids:
        return {}
    query = select(OutboxRow).where(OutboxRow.status == SILENCED, col(OutboxRow.warning_id).in_(list(warning_ids)))
    return {r.warning_id: str(r.payload.get("silence_reason", "")) for r in session.exec(query)
            if r.warning_id is not None}


REMIND_STEP = "silence-remind"
"""Outbox step of the reminder to a silence's author that it ends soon."""


def reminder(silence: SilenceRow, now: datetime) -> tuple[Message, Message]:
    """The subject and body of the reminder that ``silence`` ends soon, as Messages (Chinese)."""
    left = max(0, int((silence.until - now).total_seconds() // 60))
    subject = Message(N_("【静默即将结束】静默 #{id}（规则 {rule}）约 {left} 分钟后结束"), id=silence.id,
                      rule=silence.rule, left=left)
    level = Message(Level(silence.level).chinese) if silence.level in set(Level) else silence.level
    body = Message(N_("您设置的静默 #{id} 将于 {ends}（北京时间）结束。\n"
                      "规则：{rule}；区域：{region}；级别：{level}。\n原因：{reason}\n结束后，仍未办结预警的暂存通知将补发一次。如需延长，请重新设置静默"
                      "（fenghuo silence add），或提前解除（fenghuo silence expire {id}）。"),
                   id=silence.id, ends=f"{silence.until.astimezone(BEIJING):%Y-%m-%d %H:%M}", rule=silence.rule,
                   region=silence.region or Message(N_("全市")), level=level or Message(N_("全部")),
                   reason=silence.reason)
    return subject, body


def remind_authors(session: Session, *, directory: ResponderDirectory, now: datetime, long: timedelta,
                   before: timedelta, word: Callable[[str], str] = str) -> int:
    """Queue, once per silence, a reminder to the author of each silence in force for ``long`` or more
    that ends within ``before`` of ``now`` (one outbox row per channel of the author, key
    ``silence:{id}:remind:{author}:{channel}``); return the rows queued now. The reminder is sent as
    written: ``word`` renders its Messages in the deployment's language (the caller's translator; the
    store knows none), Chinese by default."""
    query = select(SilenceRow).where(col(SilenceRow.expired_at).is_(None), col(SilenceRow.until) > now,
                                     col(SilenceRow.until) <= now + before)
    rows: list[OutboxRow] = []
    for silence in session.exec(query):
        person = directory.responder(silence.author)
        if person is None or silence.until - silence.starts_at < long:
            continue
        subject, body = (word(text) for text in reminder(silence, now))
        for channel in person.channels:
            rows.append(OutboxRow(
                idempotency_key=f"silence:{silence.id}:remind:{person.id}:{channel.type}", warning_id=None,
                step=REMIND_STEP, recipient=person.id, channel=channel.type, address=channel.address, level="",
                subject=subject, body=body, payload={"silence": silence.id, "step": REMIND_STEP},
                status=PENDING, next_attempt_at=now, created_at=now))
    if not rows:
        return 0
    keys = [r.idempotency_key for r in rows]
    before_count = len(list(session.exec(select(OutboxRow.id).where(col(OutboxRow.idempotency_key).in_(keys)))))
    insert_missing(session, rows)
    session.flush()
    after = len(list(session.exec(select(OutboxRow.id).where(col(OutboxRow.idempotency_key).in_(keys)))))
    return after - before_count
