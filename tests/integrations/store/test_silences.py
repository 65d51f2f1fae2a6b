"""Silences in the store: creating (refusals audited), holding a warning's notifications, and ending the
hold — each held notification sent exactly once if its warning is still open, or recorded as not needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from domain.escalation import EscalationPolicy
from integrations.notify import FakeChannel
from integrations.notify.pipeline import deliver_pending
from integrations.route import route_warning
from integrations.store.db import open_store, session_scope
from integrations.store.models import AuditRow, OutboxRow, WarningRow
from integrations.store.silences import (
    SILENCE_REFUSED,
    SilenceRefused,
    add_silence,
    expire_silence,
    list_silences,
    release_held,
)
from tests.escalation_helpers import MONDAY_10_BJ, REGIONS, small_directory, warning
from tests.store_templates import StoreTemplates

T0 = MONDAY_10_BJ
MAX = timedelta(hours=72)


def _silence(engine: sa.Engine, *, author: str = "s1", region: str | None = "510104001000",
             level: str | None = "yellow", hours: float = 2, rule: str = "collective-petition") -> int:
    with session_scope(engine) as s:
        row = add_silence(s, directory=small_directory(), author=author, rule=rule, region=region,
                          level=level, category=None, until=T0 + timedelta(hours=hours), reason="听证会",
                          now=T0, max_length=MAX)
    assert row.id is not None
    return row.id


def _open(engine: sa.Engine, level: str = "yellow", region: str = "510104001001", at=T0, fp: str = "a") -> int:
    w = warning(level, region=region, fingerprint=fp)
    with session_scope(engine) as s:
        s.add(w)
        s.flush()
        route_warning(session=s, warning=w, change="opened", policy=EscalationPolicy(),
                      directory=small_directory(), regions=REGIONS, now=at)
    assert w.id is not None
    return w.id


def _rows(engine: sa.Engine, warning_id: int) -> list[OutboxRow]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxRow).where(OutboxRow.warning_id == warning_id)))


def test_a_covered_warning_opens_but_its_notifications_are_held(engine: sa.Engine) -> None:
    sid = _silence(engine)
    wid = _open(engine, at=T0 + timedelta(minutes=1))
    rows = _rows(engine, wid)
    assert rows and all(r.status == "silenced" and r.payload["silence"] == sid for r in rows)
    assert rows[0].payload["silence_reason"] == "听证会"
    channel = FakeChannel("file")
    assert deliver_pending(engine, {"file": channel}, now=T0 + timedelta(minutes=2)).attempted == 0
    with Session(engine) as s:
        audit = s.exec(select(AuditRow).where(AuditRow.warning_id == wid, AuditRow.action == "silenced")).all()
    assert [a.reason for a in audit] == ["听证会"]
    # Not covered: another street, a level above the silence's.
    assert all(r.status == "pending" for r in _rows(engine, _open(engine, region="510104002000", fp="b")))
    assert all(r.status == "pending" for r in _rows(engine, _open(engine, level="orange", fp="c")))


def test_expiry_releases_once_with_the_same_key(engine: sa.Engine) -> None:
    sid = _silence(engine)
    wid = _open(engine, at=T0 + timedelta(minutes=1))
    keys = {r.idempotency_key for r in _rows(engine, wid)}
    now = T0 + timedelta(minutes=30)
    with session_scope(engine) as s:
        assert release_held(s, now=now) == {"released": 0, "not_needed": 0, "held": len(keys)}
        expire_silence(s, sid, actor="s1", now=now)
    with session_scope(engine) as s:
        assert release_held(s, now=now)["released"] == len(keys)
    channel = FakeChannel("file")
    deliver_pending(engine, {"file": channel}, now=now)
    with session_scope(engine) as s:
        assert release_held(s, now=now)["released"] == 0
    deliver_pending(engine, {"file": channel}, now=now + timedelta(hours=5))
    assert sorted(n.idempotency_key for n in channel.sent) == sorted(keys)


def test_a_warning_resolved_during_the_silence_is_not_needed(engine: sa.Engine) -> None:
    _silence(engine)
    wid = _open(engine, at=T0 + timedelta(minutes=1))
    with session_scope(engine) as s:
        w = s.get(WarningRow, wid)
        assert w is not None
        w.status, w.open_key = "resolved", None
        s.add(w)
    with session_scope(engine) as s:
        assert release_held(s, now=T0 + timedelta(hours=3))["not_needed"] == len(_rows(engine, wid))
    assert {r.status for r in _rows(engine, wid)} == {"not_needed"}


def test_refusals_are_audited_and_nothing_is_created(engine: sa.Engine) -> None:
    with pytest.raises(SilenceRefused, match="市级"):
        _silence(engine, author="jj-duty", region="510104000000", level=None)
    with pytest.raises(SilenceRefused, match="上限"):
        _silence(engine, author="city-duty", hours=73)
    with Session(engine) as s:
        refused = s.exec(select(AuditRow).where(AuditRow.action == SILENCE_REFUSED)).all()
        assert [a.actor for a in refused] == ["jj-duty", "city-duty"]
        assert list_silences(s, now=T0, include_ended=True) == []


Event = tuple[str, int]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["open", "resolve", "expire", "sweep"]), st.integers(0, 5)),
                min_size=1, max_size=12),
       st.sampled_from([1.0, 3.0]))
def test_a_silence_never_loses_a_notification(tmp_path_factory: pytest.TempPathFactory,
                                              store_templates: StoreTemplates, events: list[Event],
                                              hours: float) -> None:
    engine = open_store(store_templates.sqlite_copy(tmp_path_factory.mktemp("p") / "p.db"))  # fresh per example
    try:
        sid = _silence(engine, region=None, level="yellow", author="city-duty", hours=hours)
        channel = FakeChannel("file")
        now, opened = T0, []
        for n, (what, pick) in enumerate(events):
            now += timedelta(minutes=20)
            if what == "open":
                opened.append(_open(engine, level=["blue", "yellow"][pick % 2], at=now, fp=f"w{n}"))
            elif what == "resolve" and opened:
                with session_scope(engine) as s:
                    w = s.get(WarningRow, opened[pick % len(opened)])
                    assert w is not None
                    w.status, w.open_key = "resolved", None
                    s.add(w)
            elif what == "expire":
                with session_scope(engine) as s:
                    expire_silence(s, sid, actor="city-duty", now=now)
            with session_scope(engine) as s:
                release_held(s, now=now)
            deliver_pending(engine, {"file": channel}, now=now)
            _never_sent_while_silenced(engine, {m.idempotency_key for m in channel.sent}, now)
        # The hold ends at the latest at `until`; a last sweep after it settles everything.
        end = max(now, T0 + timedelta(hours=hours)) + timedelta(minutes=1)
        with session_scope(engine) as s:
            release_held(s, now=end)
        deliver_pending(engine, {"file": channel}, now=end)
        sent = [m.idempotency_key for m in channel.sent]
        assert len(sent) == len(set(sent))  # exactly once per key
        with Session(engine) as s:
            rows = list(s.exec(select(OutboxRow).order_by(col(OutboxRow.id))))
            for row in rows:
                w = s.get(WarningRow, row.warning_id)
                assert w is not None
                if row.status == "not_needed":
                    assert w.status == "resolved" and row.idempotency_key not in sent
                else:
                    assert row.status == "sent" and sent.count(row.idempotency_key) == 1
    finally:
        engine.dispose()


def _never_sent_while_silenced(engine: sa.Engine, sent: set[str], now: datetime) -> None:
    """After each round: a row still silenced was never sent, and one sent after being silenced was sent
    only once its silence had ended (expired, or ``until`` passed)."""
    from integrations.store.silences import SilenceRow

    with Session(engine) as s:
        for row in s.exec(select(OutboxRow).where(col(OutboxRow.payload).is_not(None))):
            silence = s.get(SilenceRow, row.payload["silence"]) if row.payload.get("silence") else None
            if row.status == "silenced":
                assert row.idempotency_key not in sent
            elif row.idempotency_key in sent and silence is not None:
                assert silence.expired_at is not None or silence.until <= now


def test_a_recurring_silence_holds_inside_its_schedule_and_releases_after_each_occurrence(
        engine: sa.Engine) -> None:
    # T0 is Monday 10:00 in Beijing: the reception morning (09:00-11:00) is on.
    with session_scope(engine) as s:
        add_silence(s, directory=small_directory(), author="s1", rule="collective-petition",
                    region="510104001000", level="yellow", category=None, until=T0 + timedelta(days=30),
                    reason="信访接待日", now=T0 - timedelta(hours=2), max_length=timedelta(days=92),
                    schedule="周一 09:00-11:00")
    inside = _open(engine, at=T0 + timedelta(minutes=30))
    assert {r.status for r in _rows(engine, inside)} == {"silenced"}
    outside = _open(engine, at=T0 + timedelta(hours=2), fp="later")  # Monday 12:00
    assert {r.status for r in _rows(engine, outside)} == {"pending"}
    with session_scope(engine) as s:
        assert release_held(s, now=T0 + timedelta(minutes=59))["held"] == 1
        assert release_held(s, now=T0 + timedelta(hours=1))["released"] == 1  # 11:00: the occurrence ends
    next_monday = _open(engine, at=T0 + timedelta(days=7), fp="next")
    assert {r.status for r in _rows(engine, next_monday)} == {"silenced"}


def test_the_author_of_a_long_silence_is_reminded_once_before_it_ends(engine: sa.Engine) -> None:
    from integrations.store.silences import REMIND_STEP, remind_authors

    _silence(engine, hours=48)
    short = _silence(engine, hours=2)
    long, before = timedelta(hours=24), timedelta(hours=2)
    with session_scope(engine) as s:
        assert remind_authors(s, directory=small_directory(), now=T0 + timedelta(hours=45), long=long,
                              before=before) == 0
    queued = []
    for _ in range(2):
        with session_scope(engine) as s:
            queued.append(remind_authors(s, directory=small_directory(), now=T0 + timedelta(hours=46, minutes=30),
                                         long=long, before=before))
    assert queued == [1, 0]  # once per silence, however many sweeps
    with Session(engine) as s:
        rows = list(s.exec(select(OutboxRow).where(OutboxRow.step == REMIND_STEP)))
    assert [(r.recipient, r.channel, r.warning_id) for r in rows] == [("s1", "file", None)]
    assert "静默即将结束" in rows[0].subject and f"#{short}" not in rows[0].subject
    channel = FakeChannel("file")
    deliver_pending(engine, {"file": channel}, now=T0 + timedelta(hours=46, minutes=31))
    assert [m.idempotency_key for m in channel.sent] == [rows[0].idempotency_key]


def test_a_nightly_silence_across_a_leap_day_and_a_month_end_in_beijing_time(engine: sa.Engine) -> None:
    from domain.beijing import BEIJING

    def bj(mo: int, d: int, h: int, mi: int = 0) -> datetime:
        return datetime(2028, mo, d, h, mi, tzinfo=BEIJING)

    with session_scope(engine) as s:
        add_silence(s, directory=small_directory(), author="s1", rule="collective-petition",
                    region="510104001000", level="yellow", category=None, until=bj(3, 3, 12),
                    reason="夜间值守", now=bj(2, 28, 12), max_length=timedelta(days=92),
                    schedule="每天 23:00-01:00 2028-02-28~2028-02-29")
    # The occurrence that begins on the leap day runs into 1 March (it belongs to the day it began).
    leap_night = _open(engine, at=bj(3, 1, 0, 30), fp="leap")
    assert {r.status for r in _rows(engine, leap_night)} == {"silenced"}
    # 1 March is past the date range: its own night is not silenced, nor is the leap day's afternoon.
    assert {r.status for r in _rows(engine, _open(engine, at=bj(3, 1, 23, 30), fp="march"))} == {"pending"}
    assert {r.status for r in _rows(engine, _open(engine, at=bj(2, 29, 15), fp="day"))} == {"pending"}
    with session_scope(engine) as s:
        assert release_held(s, now=bj(3, 1, 0, 59))["held"] == len(_rows(engine, leap_night))
        # 01:00 Beijing is 17:00 UTC of the day before: the hold ends there, once.
        assert release_held(s, now=datetime(2028, 2, 29, 17, 0, tzinfo=UTC))["released"] == len(
            _rows(engine, leap_night))
        assert release_held(s, now=bj(3, 1, 2))["released"] == 0
