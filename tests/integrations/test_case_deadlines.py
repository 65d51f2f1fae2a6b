"""Case deadlines (rules/catalog/deadlines.yaml) live: a department's status changes arrive as new versions
of the same record id through the records import path, the live evaluator sees each version, and its
warnings equal a backtest of the same versions on both engines (on time / late / never moved)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from domain.kinds import RecordKinds
from domain.records import Record
from integrations.evaluation import LiveEvaluator
from integrations.records_io import import_items
from integrations.settings import PACKAGE_ROOT
from integrations.sources.mapping import SourceConfig
from integrations.store.db import open_store
from integrations.store.models import WarningRow
from rules.language.loader import load_rulebook
from rules.run.backtest import backtest

CST = timezone(timedelta(hours=8))
DAY0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
XINFANG = SourceConfig(name="xinfang", kind="petition", path="", fields={})
CATALOG = PACKAGE_ROOT / "rules" / "catalog"
# (day, case id, status): c-on is told on day 10, c-late on day 20, c-stuck never; c-x moves time on.
STEPS = [(0, "c-on", "registered"), (0, "c-late", "registered"), (0, "c-stuck", "registered"),
         (10, "c-on", "accepted"), (20, "c-late", "accepted"), (31, "c-x", "concluded")]


@pytest.fixture
def store(migrated_url: str) -> Iterator[sa.Engine]:
    engine = open_store(migrated_url)
    yield engine
    engine.dispose()


def _item(day: int, case: str, status: str) -> dict[str, object]:
    return {"kind": "petition", "id": case, "at": (DAY0 + timedelta(days=day)).isoformat(), "region": "510104001001",
            "status": status, "subject": "物业"}


def test_live_deadlines_equal_the_backtest_of_the_versions(store: sa.Engine, kinds: RecordKinds) -> None:
    rulebook = load_rulebook([CATALOG / "deadlines.yaml"], rulebook=CATALOG)
    live = LiveEvaluator(store, rulebook)
    for day, case, status in STEPS:  # each department delivery, then the evaluator's run
        now = DAY0 + timedelta(days=day, hours=1)
        report = import_items(store, XINFANG, [_item(day, case, status)], kinds=kinds, key="k", now=now)
        assert report.accepted == 1
        live.run(now)
    with Session(store) as s:
        stored = sorted((w.rule, w.fingerprint, w.region) for w in s.exec(select(WarningRow)))
    assert [r for r, _, _ in stored] == ["petition-acceptance-overdue"] * 2  # c-late and c-stuck, not c-on
    versions = [Record(kind="petition", source="xinfang", id=case, at=DAY0 + timedelta(days=day),
                       region="510104001001", attributes={"status": status, "subject": "物业"})
                for day, case, status in STEPS]
    for engine in ("durable", "reference"):
        replayed = sorted((w["rule"], w["fingerprint"], w["region"]) for w in backtest(rulebook, versions, engine))
        assert replayed == stored, engine
