"""Digests: blue and yellow for one responder inside the window go as one message; orange and red never wait."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from domain.escalation import EscalationPolicy
from integrations.notify import FakeChannel, Notification
from integrations.notify.digest import digest_key, digest_notification
from integrations.notify.pipeline import Backoff, deliver_pending
from integrations.store.db import session_scope
from integrations.store.digests import DIGEST_KEY
from integrations.store.models import OutboxRow
from integrations.store.outbox import retry_dead
from tests.escalation_helpers import MONDAY_10_BJ, open_routed

T0 = MONDAY_10_BJ
WINDOW = timedelta(minutes=10)
FAST = Backoff(base=timedelta(seconds=10), cap=timedelta(minutes=1), max_attempts=2)


def _open(engine: sa.Engine, level: str, rule: str, at: datetime, region: str = "510104001001") -> int:
    return open_routed(engine, level, region, rule=rule, at=at, title=f"规则 {rule}")


def _deliver(engine: sa.Engine, channel: FakeChannel, at: datetime, **kw: object):  # type: ignore[no-untyped-def]
    return deliver_pending(engine, {"file": channel, "webhook": channel}, now=at, digest_window=WINDOW,
                           rng=random.Random(3), **kw)  # type: ignore[arg-type]


def _rows(engine: sa.Engine) -> dict[str, OutboxRow]:
    with Session(engine) as s:
        return {r.idempotency_key: r for r in s.exec(select(OutboxRow))}


def test_yellow_for_one_responder_goes_as_one_digest_and_orange_never_waits(engine: sa.Engine) -> None:
    a = _open(engine, "yellow", "rule-a", T0)
    b = _open(engine, "yellow", "rule-b", T0 + timedelta(minutes=3))
    c = _open(engine, "orange", "rule-c", T0 + timedelta(minutes=3))  # district jj-duty: file + webhook
    channel = FakeChannel()
    first = _deliver(engine, channel, T0 + timedelta(minutes=3))
    assert sorted(first.sent_keys) == [f"{c}:open:jj-duty:file", f"{c}:open:jj-duty:webhook"]
    assert sorted(first.held_keys) == [f"{a}:open:s1:file", f"{b}:open:s1:file"]
    assert _deliver(engine, channel, T0 + timedelta(minutes=9, seconds=59)).attempted == 0
    report = _deliver(engine, channel, T0 + timedelta(minutes=10))  # the window of a's group closes
    members = [f"{a}:open:s1:file", f"{b}:open:s1:file"]
    key = digest_key(members)
    assert report.digest_keys == [key] and sorted(report.sent_keys) == members
    digest = channel.sent[-1]
    assert (digest.idempotency_key, digest.step, digest.recipient, digest.level) == (key, "digest", "s1", "yellow")
    assert key.startswith("digest:") and len(key) == len("digest:") + 64
    assert digest.subject == "【预警汇总】2 条预警（黄色 2 条）"
    assert digest.body.count("【黄色预警】") == 2
    assert f"确认命令：fenghuo warnings ack {a} --as s1" in digest.body
    assert f"确认命令：fenghuo warnings ack {b} --as s1" in digest.body
    assert [m["idempotency_key"] for m in digest.payload["members"]] == members
    rows = _rows(engine)
    assert all(rows[k].status == "sent" and rows[k].payload[DIGEST_KEY] == key for k in members)
    assert len(channel.sent) == 3
    assert _deliver(engine, channel, T0 + timedelta(hours=1)).attempted == 0


def test_a_lone_blue_waits_the_window_then_goes_as_itself(engine: sa.Engine) -> None:
    wid = _open(engine, "blue", "rule-a", T0)  # community c1 (on duty at 10:00)
    channel = FakeChannel()
    assert _deliver(engine, channel, T0 + timedelta(minutes=5)).held_keys == [f"{wid}:open:c1:file"]
    report = _deliver(engine, channel, T0 + timedelta(minutes=10))
    assert report.sent_keys == [f"{wid}:open:c1:file"] and report.digest_keys == []
    [message] = channel.sent
    assert message.idempotency_key == f"{wid}:open:c1:file" and message.subject.startswith("【蓝色预警】")
    assert DIGEST_KEY not in _rows(engine)[message.idempotency_key].payload


def test_blue_and_yellow_of_one_street_unit_share_a_digest(engine: sa.Engine) -> None:
    # A blue warning in a street-level region answers at the street itself (coarser than community).
    a = _open(engine, "blue", "rule-a", T0, region="510104001000")
    b = _open(engine, "yellow", "rule-b", T0 + timedelta(minutes=1))
    channel = FakeChannel()
    _deliver(engine, channel, T0 + timedelta(minutes=11))
    [digest] = channel.sent
    assert digest.subject == "【预警汇总】2 条预警（黄色 1 条、蓝色 1 条）"
    assert digest.idempotency_key == digest_key([f"{b}:open:s1:file", f"{a}:open:s1:file"])


class CrashAfterSend(FakeChannel):
    """Delivers, then the process "dies" before the sweep can mark anything (a BaseException)."""

    def send(self, message: Notification) -> None:
        super().send(message)
        raise KeyboardInterrupt("killed after send")


def test_a_crash_after_sending_a_digest_resends_it_with_the_same_key(engine: sa.Engine) -> None:
    a = _open(engine, "yellow", "rule-a", T0)
    b = _open(engine, "yellow", "rule-b", T0 + timedelta(minutes=1))
    crashing = CrashAfterSend()
    with pytest.raises(KeyboardInterrupt):
        _deliver(engine, crashing, T0 + timedelta(minutes=10))
    # Meanwhile a third yellow for the same responder arrives: it must not change the digest in flight.
    c = _open(engine, "yellow", "rule-c", T0 + timedelta(minutes=10, seconds=30))
    assert {r.status for r in _rows(engine).values()} == {"pending"}
    after = FakeChannel()
    _deliver(engine, after, T0 + timedelta(minutes=11))
    [resent] = after.sent
    assert resent.idempotency_key == crashing.sent[0].idempotency_key
    assert resent.idempotency_key == digest_key([f"{a}:open:s1:file", f"{b}:open:s1:file"])
    assert resent.body == crashing.sent[0].body
    # The latecomer opens a window of its own and goes after it, alone.
    assert _rows(engine)[f"{c}:open:s1:file"].status == "pending"
    _deliver(engine, after, T0 + timedelta(minutes=21))
    assert [m.idempotency_key for m in after.sent] == [resent.idempotency_key, f"{c}:open:s1:file"]


def test_a_failing_digest_is_retried_whole_and_revived_whole(engine: sa.Engine) -> None:
    a = _open(engine, "yellow", "rule-a", T0)
    b = _open(engine, "yellow", "rule-b", T0 + timedelta(minutes=1))
    down = FakeChannel(fail_first=100)
    now = T0 + timedelta(minutes=10)
    for _ in range(3):
        _deliver(engine, down, now, backoff=FAST)
        now += timedelta(minutes=2)
    keys = {m.idempotency_key for m in down.attempts}
    assert len(down.attempts) == FAST.max_attempts and len(keys) == 1
    rows = _rows(engine)
    assert {rows[k].status for k in (f"{a}:open:s1:file", f"{b}:open:s1:file")} == {"dead"}
    with session_scope(engine) as s:
        assert retry_dead(session=s, ids=[rows[f"{a}:open:s1:file"].id or 0], now=now) == 2
    up = FakeChannel()
    _deliver(engine, up, now)
    assert [m.idempotency_key for m in up.sent] == list(keys)


def test_rows_waiting_for_a_digest_never_crowd_out_red(engine: sa.Engine) -> None:
    for i in range(3):
        _open(engine, "yellow", f"rule-{i}", T0, region=f"51010400100{i % 2 + 1}")
    red = _open(engine, "red", "rule-red", T0 + timedelta(seconds=1))
    channel = FakeChannel()
    report = _deliver(engine, channel, T0 + timedelta(seconds=1), limit=1)
    assert report.sent_keys == [f"{red}:open:city-duty:file"] and len(report.held_keys) == 3


def test_digest_keys_do_not_depend_on_order_and_messages_on_nothing_else() -> None:
    assert digest_key(["1:open:a:file", "2:open:a:file"]) == digest_key(["2:open:a:file", "1:open:a:file"])
    assert digest_key(["1:open:a:file"]) != digest_key(["1:open:a:file", "2:open:a:file"])
    m = [Notification(idempotency_key=f"{i}:open:a:file", warning_id=i, step="open", recipient="a",
                      channel="file", level="blue", subject=f"【蓝色预警】{i}", body="摘要：电话 13812345678")
         for i in (1, 2)]
    one, two = digest_notification(m, "digest:x", WINDOW), digest_notification(m, "digest:x", WINDOW)
    assert one == two and "13812345678" not in one.body
    assert "10 分钟内" in one.body


def test_the_window_comes_from_the_policy(tmp_path: Path) -> None:
    shipped = EscalationPolicy.load(Path("integrations/data/escalation.yaml"))
    assert shipped.digest_window == WINDOW
    path = tmp_path / "p.yaml"
    path.write_text("digest_window: 0s\n", encoding="utf-8")
    assert EscalationPolicy.load(path).digest_window == timedelta(0)
    with pytest.raises(ValueError):
        EscalationPolicy.model_validate({"digest_window": "-5m"})


def test_concurrent_sweeps_send_each_row_and_each_digest_once(engine: sa.Engine) -> None:
    import threading

    for i in range(6):
        _open(engine, "yellow", f"rule-y{i}", T0)  # street s1: one digest of six
        _open(engine, "orange", f"rule-o{i}", T0)  # district jj-duty: file + webhook, each at once
    channel = FakeChannel()
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            barrier.wait()
            _deliver(engine, channel, T0 + timedelta(minutes=10))
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # Two sweeps that each hold part of a digest's rows at the same moment both leave it, whole, to the next
    # sweep (a digest goes whole or not at all), as the flow's next run would: one more, then nothing is left.
    _deliver(engine, channel, T0 + timedelta(minutes=10))
    keys = [m.idempotency_key for m in channel.sent]
    assert len(keys) == len(set(keys)) == 13  # 12 orange rows and one digest of six
    assert {r.status for r in _rows(engine).values()} == {"sent"}
