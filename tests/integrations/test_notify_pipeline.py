"""Delivery from the outbox: at least once, backoff, dead letters, retry, one sent row per key."""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from domain.escalation import EscalationPolicy
from integrations.notify import FakeChannel
from integrations.notify.pipeline import Backoff, deliver_pending
from integrations.route import route_warning
from integrations.store.db import session_scope
from integrations.store.models import OutboxRow
from integrations.store.outbox import list_notifications, retry_dead
from tests.escalation_helpers import MONDAY_10_BJ, REGIONS, small_directory, warning

T0 = MONDAY_10_BJ
FAST = Backoff(base=timedelta(seconds=10), cap=timedelta(minutes=1), max_attempts=4)


def _open(engine: sa.Engine, level: str = "red") -> int:
    w = warning(level)
    with session_scope(engine) as s:
        s.add(w)
        s.flush()
        route_warning(session=s, warning=w, change="opened", policy=EscalationPolicy(),
                      directory=small_directory(), regions=REGIONS, now=T0)
    assert w.id is not None
    return w.id


def _rows(engine: sa.Engine) -> list[OutboxRow]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxRow).order_by(OutboxRow.id)))  # type: ignore[arg-type]


def test_failing_twice_then_succeeding_sends_exactly_once(engine: sa.Engine) -> None:
    _open(engine)
    channel = FakeChannel("file", fail_first=2)
    rng = random.Random(1)
    now = T0
    reports = []
    for _ in range(6):
        report = deliver_pending(engine=engine, channels={"file": channel}, now=now, backoff=FAST, rng=rng)
        reports.append(report)
        now += timedelta(minutes=2)  # past any capped backoff
    assert [r.failed for r in reports[:3]] == [1, 1, 0]
    assert len(channel.sent) == 1 and len(channel.attempts) == 3
    assert {m.idempotency_key for m in channel.attempts} == {channel.sent[0].idempotency_key}
    [row] = _rows(engine)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 3, T0 + timedelta(minutes=4))


def test_backoff_waits_and_is_capped() -> None:
    rng = random.Random(7)
    b = Backoff(base=timedelta(seconds=30), cap=timedelta(minutes=5))
    for attempts in range(1, 12):
        full = min(timedelta(minutes=5), timedelta(seconds=30) * 2 ** (attempts - 1))
        assert full / 2 <= b.delay(attempts, rng) <= full


def test_a_row_not_yet_due_is_not_sent(engine: sa.Engine) -> None:
    _open(engine)
    channel = FakeChannel("file", fail_first=1)
    deliver_pending(engine=engine, channels={"file": channel}, now=T0, backoff=FAST)
    later = T0 + timedelta(seconds=1)
    report = deliver_pending(engine=engine, channels={"file": channel}, now=later, backoff=FAST)
    assert report.attempted == 0 and len(channel.attempts) == 1


def test_dead_letter_after_the_limit_then_retry(engine: sa.Engine) -> None:
    _open(engine)
    channel = FakeChannel("file", fail_first=100)
    now = T0
    for _ in range(FAST.max_attempts + 2):
        deliver_pending(engine=engine, channels={"file": channel}, now=now, backoff=FAST)
        now += timedelta(minutes=2)
    [row] = _rows(engine)
    assert (row.status, row.attempts) == ("dead", FAST.max_attempts)
    assert "fake failure" in row.last_error
    with Session(engine) as s:
        assert [r.id for r in list_notifications(session=s, failed=True)] == [row.id]
    with session_scope(engine) as s:
        assert retry_dead(session=s, ids=[row.id or 0], now=now) == 1
    healthy = FakeChannel("file")
    report = deliver_pending(engine=engine, channels={"file": healthy}, now=now, backoff=FAST)
    assert report.sent_keys == [row.idempotency_key]
    assert _rows(engine)[0].status == "sent"


def test_a_permanent_error_is_dead_at_once(engine: sa.Engine) -> None:
    _open(engine)
    refusing = FakeChannel("file", fail_first=1, retryable=False)
    report = deliver_pending(engine=engine, channels={"file": refusing}, now=T0, backoff=FAST)
    assert report.dead == 1


def test_unconfigured_channels_stay_pending(engine: sa.Engine) -> None:
    _open(engine, "orange")  # jj-duty has file and webhook
    report = deliver_pending(engine=engine, channels={"file": FakeChannel("file")}, now=T0)
    assert report.sent == 1
    assert sorted(r.status for r in _rows(engine)) == ["pending", "sent"]


def test_a_crash_after_sending_resends_with_the_same_key(engine: sa.Engine) -> None:
    _open(engine)

    class Crash(BaseException):
        pass

    class CrashAfterSend(FakeChannel):
        def send(self, message):  # type: ignore[no-untyped-def]
            super().send(message)
            raise Crash  # the process dies before the row is marked sent

    crashing = CrashAfterSend("file")
    with contextlib.suppress(Crash):
        deliver_pending(engine=engine, channels={"file": crashing}, now=T0)
    assert _rows(engine)[0].status == "pending"
    healthy = FakeChannel("file")
    deliver_pending(engine=engine, channels={"file": healthy}, now=T0)
    assert crashing.sent[0].idempotency_key == healthy.sent[0].idempotency_key
    assert _rows(engine)[0].status == "sent"
