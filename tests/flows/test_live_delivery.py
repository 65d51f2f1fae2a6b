"""The resident evaluator delivers as it evaluates (SQLite and PostgreSQL): a record committed to the store
reaches the webhook receiver as an orange warning without any `deliver` run, woken by the batch's commit
(the full sweep is an hour away here); with ``live_delivery`` off the warning opens and nothing is sent; a
burst is taken in batches of at most ``live_batch_records``, so an urgent record is not behind all of it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from domain.records import Record
from flows.live_delivery import follow_and_deliver
from integrations.delivery_worker import DeliveryWorker
from integrations.settings import Settings
from integrations.store.checkpoint_models import EvaluatorBatchRow
from integrations.store.db import session_scope
from integrations.store.models import OutboxRow, WarningRow
from integrations.store.records import upsert_records
from tests.webhook_helpers import WebhookReceiver, webhook_directory


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.close()


def _petition(rid: str, people: int, at: datetime | None = None) -> Record:
    return Record(kind="petition", source="xinfang", id=rid, at=at or datetime.now(UTC), region="510104001001",
                  attributes={"people": people, "subject": "征地补偿", "person": "p_00000000000000000001"})


class Resident:
    """``follow_and_deliver`` in a thread, with what it said."""

    def __init__(self, engine: sa.Engine, settings: Settings) -> None:
        self.said: list[str] = []
        self.stopping = threading.Event()
        self.worker: DeliveryWorker | None = None

        def run() -> None:
            self.worker = follow_and_deliver(engine, say=self.said.append, who="test", stop=self.stopping.is_set,
                                             settings=settings, poll_s=0.2)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        # Said after holding(), in either language.
        while not any("从上一检查点开始评估" in s or "evaluating from the last checkpoint" in s for s in self.said):
            assert self.thread.is_alive() and time.monotonic() < deadline, self.said
            time.sleep(0.05)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(20)
        assert not self.thread.is_alive(), self.said


def _settings(tmp_path: Path, store_url: str, receiver: WebhookReceiver, live: bool, batch: int = 200) -> Settings:
    return Settings(home=tmp_path / "home", database_url=store_url, live_delivery=live, delivery_sweep_s=3600,
                    live_batch_records=batch, responders=webhook_directory(tmp_path / "responders.yaml", receiver.url))


def test_a_committed_record_reaches_the_webhook_without_a_deliver_run(
        engine: sa.Engine, store_url: str, tmp_path: Path, receiver: WebhookReceiver) -> None:
    resident = Resident(engine, _settings(tmp_path, store_url, receiver, live=True))
    try:
        assert any("在评估旁投递发件箱" in s for s in resident.said)
        committed = time.time()
        with session_scope(engine) as session:
            upsert_records(session=session, records=[_petition("p1", 60)])
        got = receiver.wait_for(1, timeout=20)
        assert got, resident.said
        assert {r.body["level"] for r in got} == {"orange"}
        assert all("集体访" in r.body["subject"] for r in got), [r.body["subject"] for r in got]
        took = got[0].at - committed
        time.sleep(1.0)  # the other recipients' posts, and nothing twice
        keys = [r.key for r in receiver.snapshot()]
    finally:
        resident.stop()
    assert took < 15  # a poll or a NOTIFY, a batch, a send: well within the hour of the full sweep
    assert resident.worker is not None and resident.worker.sent >= 1 and resident.worker.rounds == 1
    with Session(engine) as s:
        rows = s.exec(select(OutboxRow).where(OutboxRow.channel == "webhook")).all()
    assert {r.status for r in rows} == {"sent"}
    assert sorted(keys) == sorted(r.idempotency_key for r in rows)  # each once


def test_with_live_delivery_off_the_warning_opens_and_nothing_is_sent(
        engine: sa.Engine, store_url: str, tmp_path: Path, receiver: WebhookReceiver) -> None:
    resident = Resident(engine, _settings(tmp_path, store_url, receiver, live=False))
    try:
        assert not any("在评估旁投递发件箱" in s for s in resident.said)
        with session_scope(engine) as session:
            upsert_records(session=session, records=[_petition("p1", 60)])
        deadline = time.monotonic() + 20
        while True:
            with Session(engine) as s:
                if s.exec(select(WarningRow)).first() is not None:
                    break
            assert time.monotonic() < deadline, resident.said
            time.sleep(0.1)
        time.sleep(1.5)
    finally:
        resident.stop()
    assert receiver.snapshot() == [] and resident.worker is None
    with Session(engine) as s:
        assert {r.status for r in s.exec(select(OutboxRow).where(OutboxRow.channel == "webhook"))} == {"pending"}


def test_the_resident_evaluator_speaks_english_on_request(
        engine: sa.Engine, store_url: str, tmp_path: Path, receiver: WebhookReceiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.settings import get_settings

    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    resident = Resident(engine, _settings(tmp_path, store_url, receiver, live=True))
    resident.stop()
    said = "\n".join(resident.said)
    for words in ("resident evaluator test holds the lease", "delivering the outbox beside the evaluator",
                  "evaluating from the last checkpoint; replayed 0 records", "checkpoint written: "):
        assert words in said, said
    assert not any("\u4e00" <= c <= "\u9fff" for c in said), said  # not one Chinese character


def test_a_burst_is_evaluated_in_batches_of_at_most_the_setting(
        engine: sa.Engine, store_url: str, tmp_path: Path, receiver: WebhookReceiver) -> None:
    start = datetime.now(UTC)
    with session_scope(engine) as session:  # one commit of 23 records, each at an instant of its own
        upsert_records(session=session, records=[_petition(f"b{i}", 1, start + timedelta(milliseconds=i))
                                                 for i in range(23)])
    resident = Resident(engine, _settings(tmp_path, store_url, receiver, live=False, batch=5))
    try:
        deadline = time.monotonic() + 20
        while True:
            # One journal row per release group a pass moved: the petitions' groups each take the burst.
            lanes: dict[str, list[int]] = {}
            with Session(engine) as s:
                for b in s.exec(select(EvaluatorBatchRow).order_by(EvaluatorBatchRow.id)):
                    lanes.setdefault(b.name, []).append(b.records)
            if lanes and max(sum(sizes) for sizes in lanes.values()) >= 23:
                break
            assert time.monotonic() < deadline, (lanes, resident.said)
            time.sleep(0.1)
    finally:
        resident.stop()
    taking = {name: [n for n in sizes if n] for name, sizes in lanes.items() if sum(sizes)}
    assert taking and all(sizes == [5, 5, 5, 5, 3] for sizes in taking.values()), lanes
