"""The register as a source: visits due in an event-time window, with stable ids, paged, once each across
runs; through the whole ingest path into care_visit_due records, which the care-visit-missed rule sees."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.kinds import RecordKinds
from domain.privacy import pseudonym
from domain.registers import CareCategories
from integrations.ingest.run import ingest_source
from integrations.settings import PACKAGE_ROOT, Settings
from integrations.sources.config import DEFAULT_SOURCES_FILE, SourcesFileError, load_sources
from integrations.sources.register import RegisterSource, due_at
from integrations.store.db import session_scope
from integrations.store.models import RecordRow
from integrations.store.registers import add_entries, close_entry

CATEGORIES = CareCategories.load(PACKAGE_ROOT / "integrations" / "data" / "care_categories.yaml")
CONFIG = load_sources(DEFAULT_SOURCES_FILE, settings=Settings()).get("register").config
G1 = "510104001001001"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _register(engine: sa.Engine) -> list[int]:
    entries = [
        {"person": pseudonym("A", "k"), "category": "living_alone_elderly", "grid": G1,  # every 7 days
         "start_date": date(2026, 1, 1), "end_date": None},
        {"person": pseudonym("B", "k"), "category": "severe_mental_disorder", "grid": G1,  # every 14 days, ends
         "start_date": date(2025, 12, 25), "end_date": date(2026, 1, 22)},
        {"person": pseudonym("C", "k"), "category": "community_corrections", "grid": G1,  # closed on 01-10
         "start_date": date(2026, 1, 2), "end_date": None},
    ]
    with session_scope(engine) as s:
        ids = add_entries(s, entries, now=T0)
    with session_scope(engine) as s:
        close_entry(s, ids[2], reason="解除矫正", actor="t", now=datetime(2026, 1, 10, 1, tzinfo=UTC))
    return ids


def _drain(source: RegisterSource, cursor: str | None, limit: int = 100) -> tuple[list[dict[str, str]], str | None]:
    items: list[dict[str, str]] = []
    while True:
        page = source.fetch(cursor, limit=limit)
        items += [i for i in page.items if isinstance(i, dict)]
        cursor = page.next_cursor
        if not page.has_more:
            return items, cursor


def test_visits_due_in_windows_once_each_with_stable_ids(engine: sa.Engine) -> None:
    a, b, c = _register(engine)
    end = datetime(2026, 2, 1, tzinfo=UTC)
    whole, _ = _drain(RegisterSource(CONFIG, engine, CATEGORIES, now=end, first_run=end - T0), None)
    expected = ({f"due-{a}-202601{d:02d}" for d in (1, 8, 15, 22, 29)} | {f"due-{b}-202601{d:02d}" for d in (8, 22)}
                | {f"due-{c}-202601{d:02d}" for d in (2, 9)})  # C: the 16th is after the close; B's 5th is past end
    assert {i["id"] for i in whole} == expected and len(whole) == len(expected)
    assert [i["due_at"] for i in whole] == sorted(i["due_at"] for i in whole)
    first = next(i for i in whole if i["id"] == f"due-{b}-20260108")
    assert first == {"id": f"due-{b}-20260108", "due_at": due_at(date(2026, 1, 8)).isoformat(), "grid": G1,
                     "person": pseudonym("B", "k"), "program": "严重精神障碍患者"}
    # Run by run, with pages of two: the same items, each once; a run with nothing new emits nothing.
    cursor, pieces = None, []
    for day in range(2, 33, 3):
        clock = T0 + timedelta(days=day)
        got, cursor = _drain(RegisterSource(CONFIG, engine, CATEGORIES, now=clock, first_run=clock - T0), cursor, 2)
        pieces += got
    assert sorted(i["id"] for i in pieces) == sorted(expected)
    again, same = _drain(RegisterSource(CONFIG, engine, CATEGORIES, now=T0 + timedelta(days=32)), cursor)
    assert again == [] and json.loads(same or "{}")["since"] == (T0 + timedelta(days=32)).isoformat()


def test_through_the_ingest_path_into_records_and_the_missed_visit_rule(engine: sa.Engine,
                                                                        kinds: RecordKinds) -> None:
    from integrations.evaluation import evaluate_pending
    from rules.language.loader import load_rulebook

    a, *_ = _register(engine)
    clock = datetime(2026, 1, 20, tzinfo=UTC)
    for _ in range(2):  # a second run at the same clock stores nothing new
        report = ingest_source(engine, RegisterSource(CONFIG, engine, CATEGORIES, now=clock, first_run=clock - T0),
                               kinds=kinds, key="k", now=clock, page_size=3)
        assert report.quarantined == 0
    with Session(engine) as s:
        rows = list(s.exec(select(RecordRow).where(RecordRow.source == "register").order_by(col(RecordRow.at))))
    assert len(rows) == 6 and {r.kind for r in rows} == {"care_visit_due"} and {r.region for r in rows} == {G1}
    assert rows[0].source_id == f"due-{a}-20260101" and rows[0].attributes["program"] == "独居老人"
    assert rows[0].attributes["person"] == pseudonym("A", "k")  # a pseudonym stays itself
    result = evaluate_pending(engine, load_rulebook([PACKAGE_ROOT / "rules" / "catalog"]), now=clock)
    # Visits due more than 72 hours before the latest record, and no care_visit: missed.
    assert result.opened >= 1 and not result.errors


def test_a_register_source_is_declared_with_register_alone(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: r\n    kind: care_visit_due\n    register: {first_run: 2d}\n"
                    "    path: /x\n    fields: {person: person}\n", encoding="utf-8")
    with pytest.raises(SourcesFileError, match="只能有 'path'（REST）、'filedrop' 或 'register' 之一"):
        load_sources(path, settings=Settings())
    path.write_text("sources:\n  - name: r\n    kind: care_visit_due\n    register: {first_run: 2d}\n"
                    "    fields: {person: person}\n", encoding="utf-8")
    spec = load_sources(path, settings=Settings()).get("r")
    assert (spec.transport, spec.first_run) == ("register", timedelta(days=2))
