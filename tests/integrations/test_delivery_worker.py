"""The delivery thread: a full round at start, a quick delivery at each wake (not waiting for the sweep), a
full round again every ``sweep_s``; a failing pass is said and the thread goes on; it stops when asked."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from domain.escalation import EscalationPolicy
from domain.regions import RegionDirectory
from domain.responders import ResponderDirectory
from integrations.delivery_worker import DeliveryParts, DeliveryWorker
from integrations.notify.local import FileChannel
from integrations.route import route_warning
from integrations.settings import get_settings
from integrations.store.db import session_scope
from integrations.store.models import OutboxRow, WarningRow


@pytest.fixture
def parts(tmp_path: Path) -> DeliveryParts:
    settings = get_settings()
    return DeliveryParts(channels={"file": FileChannel(tmp_path / "outbox")},
                         policy=EscalationPolicy.load(settings.escalation),
                         directory=ResponderDirectory.load(settings.responders),
                         regions=RegionDirectory.load(settings.regions))


@pytest.fixture
def workers() -> Iterator[Callable[..., DeliveryWorker]]:
    made: list[DeliveryWorker] = []

    def make(*args: object, **kwargs: object) -> DeliveryWorker:
        made.append(DeliveryWorker(*args, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for worker in made:
        worker.stop(5)


def _open(engine: sa.Engine, parts: DeliveryParts, fp: str) -> int:
    at = datetime.now(UTC)
    w = WarningRow(fingerprint=fp, open_key=fp, rule="collective-petition", title="集体访", level="orange",
                   region="510104001001", first_at=at, last_at=at, opened_at=at, summary="60 人集体访")
    with session_scope(engine) as s:
        s.add(w)
        s.flush()
        route_warning(session=s, warning=w, change="opened", policy=parts.policy, directory=parts.directory,
                      regions=parts.regions, now=at)
    assert w.id is not None
    return w.id


def _statuses(engine: sa.Engine, wid: int) -> set[str]:
    with Session(engine) as s:
        return {r.status for r in s.exec(select(OutboxRow).where(OutboxRow.warning_id == wid))}


def _until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_wake_delivers_at_once_and_without_one_nothing_goes_before_the_sweep(
        sqlite_engine: sa.Engine, parts: DeliveryParts, workers: Callable[..., DeliveryWorker]) -> None:
    before = _open(sqlite_engine, parts, "before")
    worker = workers(sqlite_engine, parts, sweep_s=3600)
    worker.start()
    assert _until(lambda: _statuses(sqlite_engine, before) == {"sent"}, 20)  # the round at start
    assert _until(lambda: worker.rounds == 1, 20)

    unwoken = _open(sqlite_engine, parts, "unwoken")
    time.sleep(1.0)
    assert _statuses(sqlite_engine, unwoken) == {"pending"}  # nobody woke it, the sweep is an hour away

    woken = _open(sqlite_engine, parts, "woken")
    worker.wake()  # the full sweep is an hour away: only the wake can send it
    assert _until(lambda: _statuses(sqlite_engine, woken) == {"sent"}, 20)
    assert _statuses(sqlite_engine, unwoken) == {"sent"}  # a pass sends whatever is due
    assert worker.rounds == 1 and worker.passes >= 2 and worker.sent >= 3 and worker.errors == 0
    assert worker.stop(5) and not worker.running


def test_a_full_round_comes_every_sweep_without_a_wake(
        sqlite_engine: sa.Engine, parts: DeliveryParts, workers: Callable[..., DeliveryWorker]) -> None:
    worker = workers(sqlite_engine, parts, sweep_s=0.3)
    worker.start()
    assert _until(lambda: worker.rounds >= 1, 20)
    wid = _open(sqlite_engine, parts, "later")
    assert _until(lambda: _statuses(sqlite_engine, wid) == {"sent"}, 20)
    assert _until(lambda: worker.rounds >= 3, 20)


def test_a_failing_pass_is_said_and_the_thread_goes_on(
        sqlite_engine: sa.Engine, parts: DeliveryParts, workers: Callable[..., DeliveryWorker]) -> None:
    said: list[str] = []
    calls = {"n": 0}

    def clock() -> datetime:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("store away")
        return datetime.now(UTC)

    wid = _open(sqlite_engine, parts, "after-failure")
    worker = workers(sqlite_engine, parts, sweep_s=3600, say=said.append, clock=clock)
    worker.start()
    assert _until(lambda: worker.errors == 1, 20)
    assert any("投递一轮失败（RuntimeError: store away）" in s for s in said)
    worker.wake()  # after the pause, the next pass delivers (the full round is still due: it was not made)
    assert _until(lambda: _statuses(sqlite_engine, wid) == {"sent"}, 20)
    # The row is committed sent inside the round; the round is counted once it returns (a moment later).
    assert _until(lambda: worker.rounds == 1, 20) and worker.running


def test_stop_returns_at_once_and_a_worker_never_started_is_stopped(
        sqlite_engine: sa.Engine, parts: DeliveryParts, workers: Callable[..., DeliveryWorker]) -> None:
    assert workers(sqlite_engine, parts).stop(0.1)
    worker = workers(sqlite_engine, parts, sweep_s=3600)
    worker.start()
    assert _until(lambda: worker.rounds == 1, 20)
    started = time.monotonic()
    assert worker.stop(5)
    assert time.monotonic() - started < 3.0  # not the hour of the sweep
