"""Proof of delivery under faults, against a real webhook receiver on 127.0.0.1:

- a receiver that is down for a while (503) gets everything afterwards, each key accepted exactly once;
- a process killed between writing warnings and sending: after restart every notification goes out once;
- a process killed after a send but before marking it: the resend carries the same key (a digest too),
  and a receiver that dedups by key ends with exactly one per key.
"""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlmodel import Session, select

from integrations.notify import WebhookChannel
from integrations.notify.pipeline import Backoff, deliver_pending
from integrations.notify.receiver import WebhookReceiver
from integrations.settings import PACKAGE_ROOT, child_env
from integrations.store.db import open_store
from integrations.store.models import OutboxRow
from tests.store_templates import StoreTemplates

pytestmark = pytest.mark.integration

SECRET = "fault-secret"
NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
CHILD = Path(__file__).with_name("delivery_child.py")
QUICK = Backoff(base=timedelta(seconds=30), cap=timedelta(minutes=5), max_attempts=10)


def _child(*args: str) -> int:
    """Run the child to its death; its exit code."""
    done = subprocess.run([sys.executable, str(CHILD), *args], cwd=PACKAGE_ROOT, capture_output=True, text=True,
                          env=child_env(PYTHONPATH=str(PACKAGE_ROOT)), timeout=120)
    assert done.returncode == 9, done.stderr[-2000:]
    return done.returncode


def _rows(engine: sa.Engine) -> list[OutboxRow]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxRow)))


def _sweep(engine: sa.Engine, now: datetime, window: timedelta | None = None) -> int:
    channel = WebhookChannel(SecretStr(SECRET), timeout_s=5)
    try:
        return deliver_pending(engine, {"webhook": channel}, now=now, backoff=QUICK, rng=random.Random(5),
                               digest_window=window).sent
    finally:
        channel.close()


@pytest.fixture
def db(tmp_path: Path, store_templates: StoreTemplates) -> str:
    """A migrated store (a copy of the template): the children's imports are cost enough."""
    return store_templates.sqlite_copy(tmp_path / "faults.db")


def test_a_receiver_down_for_a_while_gets_everything_once(db: str) -> None:
    with WebhookReceiver(SECRET, fail_first=7) as receiver:
        _child("write", db, receiver.url, "orange", "4", NOW.isoformat())
        engine = open_store(db)
        keys = {r.idempotency_key for r in _rows(engine)}
        assert len(keys) == 4
        now, sweeps = NOW, 0
        while any(r.status != "sent" for r in _rows(engine)):
            _sweep(engine, now)
            now += QUICK.cap  # past any backoff
            sweeps += 1
            assert sweeps < QUICK.max_attempts, "never delivered"
        engine.dispose()
    assert sweeps > 1
    assert [s.status for s in receiver.requests[:7]] == [503] * 7
    assert set(receiver.accepted) == keys and receiver.duplicates == []
    assert all(receiver.ok_count(k) == 1 for k in keys)
    assert all(m["subject"].startswith("【橙色预警】") for m in receiver.accepted.values())


def test_killed_between_writing_and_sending_then_sent_once_after_restart(db: str) -> None:
    with WebhookReceiver(SECRET) as receiver:
        _child("write", db, receiver.url, "red", "3", NOW.isoformat())
        engine = open_store(db)
        rows = _rows(engine)
        # The warnings and their notifications were committed together, and nothing was sent.
        assert len(rows) == 3 and {r.status for r in rows} == {"pending"} and receiver.requests == []
        assert _sweep(engine, NOW + timedelta(seconds=1)) == 3
        assert _sweep(engine, NOW + timedelta(minutes=5)) == 0
        engine.dispose()
    assert set(receiver.accepted) == {r.idempotency_key for r in rows}
    assert len(receiver.requests) == 3 and receiver.duplicates == []


def test_killed_after_a_send_before_marking_it_resends_the_same_key(db: str) -> None:
    with WebhookReceiver(SECRET) as receiver:
        _child("write", db, receiver.url, "red", "3", NOW.isoformat())
        _child("send", db, SECRET, NOW.isoformat())
        engine = open_store(db)
        assert {r.status for r in _rows(engine)} == {"pending"}  # the one sent was never marked
        [first] = receiver.requests
        assert _sweep(engine, NOW + timedelta(seconds=1)) == 3
        keys = {r.idempotency_key for r in _rows(engine)}
        engine.dispose()
    assert receiver.duplicates == [first.key]  # the resend carried the same key and was dropped
    assert set(receiver.accepted) == keys and len(receiver.requests) == 4


def test_killed_after_sending_a_digest_resends_it_under_the_same_key(db: str) -> None:
    window = timedelta(minutes=10)
    with WebhookReceiver(SECRET) as receiver:
        _child("write", db, receiver.url, "yellow", "3", NOW.isoformat())
        later = NOW + window
        _child("send", db, SECRET, later.isoformat(), str(window.total_seconds()))
        engine = open_store(db)
        assert _sweep(engine, later + timedelta(seconds=1), window) == 3
        rows = _rows(engine)
        engine.dispose()
    [key] = receiver.accepted
    assert key.startswith("digest:") and receiver.duplicates == [key] and len(receiver.requests) == 2
    assert {r.payload["digest_key"] for r in rows} == {key} and {r.status for r in rows} == {"sent"}
    members = [m["idempotency_key"] for m in receiver.accepted[key]["payload"]["members"]]
    assert sorted(members) == sorted(r.idempotency_key for r in rows)
    assert receiver.accepted[key]["subject"] == "【预警汇总】3 条预警（黄色 3 条）"
