"""The live path's error side: a record the engine leaves out is quarantined and a ``rulebook-error``
warning at the city root tells the administrators; so does a rule file that failed to load."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from domain.records import Record
from integrations.evaluation import evaluate_pending
from integrations.store.db import session_scope
from integrations.store.models import QuarantineRow, WarningRow
from integrations.store.records import upsert_records
from rules.engine.budget import MAX_MATCH_TEXT, RULEBOOK_ERROR_RULE
from rules.language.loader import load_rulebook
from tests.rules.conftest import RULEBOOK

AT = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
NOW = datetime(2026, 2, 1, tzinfo=UTC)
RULE = """
ruleset: text
rules:
  - id: subject-text
    title: 主题
    record: petition
    where: {subject: {matches: "a+"}}
    level: blue
    summary: s
"""


def test_left_out_record_and_failed_file_reach_the_administrators(
    engine: sa.Engine, write: Callable[[str, str], Path]
) -> None:
    good = write("text.yaml", RULE)
    (good.parent / "bad.yaml").write_bytes(b"ruleset: bad\x00\n")
    rulebook = load_rulebook([good.parent], rulebook=RULEBOOK)
    assert [r.id for r in rulebook.rules] == ["subject-text"] and len(rulebook.failed) == 1
    records = [Record(kind="petition", source="xinfang", id=i, at=AT, region="510104001001",
                      attributes={"subject": text, "people": 1})
               for i, text in (("long", "a" * (MAX_MATCH_TEXT + 1)), ("fine", "aaa"))]
    with session_scope(engine) as s:
        upsert_records(session=s, records=records)
    report = evaluate_pending(engine, rulebook, now=NOW, engine_name="reference")
    assert report.records == 2 and len(report.errors) == 1
    with Session(engine) as s:
        rows = sorted((w.rule, w.level, w.region, tuple(w.records)) for w in s.exec(select(WarningRow)))
        quarantined = [(q.source, q.source_id) for q in s.exec(select(QuarantineRow))]
    assert rows == sorted([
        ("subject-text", "blue", "510104001001", ("xinfang/fine",)),
        (RULEBOOK_ERROR_RULE, "blue", "510100000000", ("xinfang/long",)),
        (RULEBOOK_ERROR_RULE, "blue", "510100000000", ()),
    ])
    assert quarantined == [("xinfang", "long")]
    # a second run over nothing new opens nothing again
    assert evaluate_pending(engine, rulebook, now=NOW, engine_name="reference").opened == 0
