"""Field reports through the records import path (integrations/grid_reports.py), on SQLite and PostgreSQL:
validated by the kind, pseudonymised, quarantined with a reason, idempotent by id, the place checked
against the reporter's jurisdiction (refusals audited), the source's watermark left alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.kinds import RecordKinds
from integrations.grid_reports import SOURCE, FieldReport, ReportRefused, report_id, submit_report
from integrations.replay import built_in_sources, replay_quarantine
from integrations.store.db import open_store
from integrations.store.models import AuditRow, QuarantineRow, RecordRow
from integrations.store.watermarks import source_marks

KEY = "grid-report-test-key"
NOW = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
COMMUNITY = "510104001001"  # 春兴湾社区: its grids are 510104001001001…003
GOOD = FieldReport(matter="gathering", grid="510104001001002", people=15, text="小区门口聚集，联系人 13812345678",
                   at=NOW - timedelta(minutes=20))


@pytest.fixture
def store(migrated_url: str) -> Iterator[sa.Engine]:
    engine = open_store(migrated_url)
    yield engine
    engine.dispose()


def _submit(store: sa.Engine, kinds: RecordKinds, report: FieldReport = GOOD, **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = dict(reporter="zhang", actor="jj-c001001-grid-lead", node=COMMUNITY, kinds=kinds,
                                   key=KEY, now=NOW, via="cli")
    return submit_report(store, report, **{**args, **kw})  # type: ignore[arg-type]


def _rows(store: sa.Engine) -> list[RecordRow]:
    with Session(store) as s:
        return list(s.exec(select(RecordRow).where(RecordRow.source == SOURCE)))


def _audit(store: sa.Engine) -> list[tuple[str, str]]:
    with Session(store) as s:
        return [(a.action, a.reason) for a in s.exec(select(AuditRow).order_by(col(AuditRow.id)))]


def test_a_report_is_a_pseudonymised_record_and_a_resend_stores_nothing(store: sa.Engine, kinds: RecordKinds) -> None:
    first = _submit(store, kinds)
    assert first.status == "stored" and first.id.startswith("gr-")
    assert _submit(store, kinds, now=NOW + timedelta(hours=2)).status == "duplicate"  # resent the same day
    [row] = _rows(store)
    assert (row.kind, row.source_id, row.region, row.version) == ("grid_report", first.id, GOOD.grid, 1)
    assert row.attributes["matter"] == "gathering" and row.attributes["people"] == 15
    assert row.attributes["reporter"].startswith("p_") and "zhang" not in str(row.attributes)
    assert "13812345678" not in row.attributes["description"]
    assert _audit(store) == [("grid_report", "stored"), ("grid_report", "duplicate")]
    with Session(store) as s:
        assert SOURCE not in source_marks(session=s)  # never holds live evaluation back
    next_day = FieldReport(**{**GOOD.__dict__, "at": GOOD.at + timedelta(days=1)})
    later = _submit(store, kinds, next_day, now=NOW + timedelta(days=1))
    assert later.status == "stored"  # the same words a day later: another report
    assert len(_rows(store)) == 2


def test_the_id_is_stable_and_a_token_overrides_the_content() -> None:
    same = report_id(reporter="zhang", report=GOOD, key=KEY)
    later = FieldReport(**{**GOOD.__dict__, "at": GOOD.at + timedelta(hours=1)})
    assert same == report_id(reporter="zhang", report=later, key=KEY)
    assert same != report_id(reporter="li", report=GOOD, key=KEY)
    assert same != report_id(reporter="zhang", report=FieldReport(**{**GOOD.__dict__, "people": 16}), key=KEY)
    assert report_id(reporter="zhang", report=GOOD, key=KEY, token="t1") == report_id(
        reporter="zhang", report=FieldReport(**{**GOOD.__dict__, "text": "改过"}), key=KEY, token="t1")


BAD: list[tuple[dict[str, object], str]] = [
    ({"matter": "riot"}, "matter"), ({"people": -1}, "people"), ({"people": 10_001}, "people"),
    ({"text": "很长" * 1001}, "description"),
]
PLACES = [("510104002001001", "outside_jurisdiction"),  # the next street's grid
          ("510104001002001", "outside_jurisdiction"),  # the next community's grid
          ("510104001001", "bad_grid"),  # the community itself is no grid
          ("51010400100100x", "bad_grid")]


def test_bad_reports_are_quarantined_with_their_reason(store: sa.Engine, kinds: RecordKinds) -> None:
    for change, reason in BAD:
        outcome = _submit(store, kinds, FieldReport(**{**GOOD.__dict__, **change}))
        assert outcome.status == "quarantined" and reason in outcome.reason, (change, outcome)
    assert _rows(store) == []
    with Session(store) as s:
        kept = s.exec(select(QuarantineRow).where(QuarantineRow.source == SOURCE)).all()
    assert len(kept) == len(BAD)
    assert all(k.source_id and "zhang" not in k.raw and "13812345678" not in k.raw for k in kept)
    assert _audit(store) == [("grid_report", "quarantined")] * len(BAD)
    # A quarantined report is replayed like any department's item (its source is built in, in no sources
    # file): tried again with the current kinds, never skipped as an unknown source.
    replay = replay_quarantine(store, None, configs=built_in_sources(kinds), kinds=kinds, key="k", source=SOURCE)
    assert not replay.skipped and sorted(replay.still_invalid) == sorted(k.id for k in kept)


def test_a_place_outside_the_jurisdiction_is_refused_and_audited(store: sa.Engine, kinds: RecordKinds) -> None:
    for grid, code in PLACES:
        with pytest.raises(ReportRefused) as refused:
            _submit(store, kinds, FieldReport(**{**GOOD.__dict__, "grid": grid}))
        assert refused.value.code == code and str(refused.value)
    assert _rows(store) == []
    assert _audit(store) == [("grid_report_refused", code) for _, code in PLACES]
