"""`fenghuo records import|export`, `evaluate --once` and `warnings list --json --limit` from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select
from typer.testing import CliRunner

from flows.cli import app
from flows.console import open_engine
from integrations.store.db import session_scope
from integrations.store.models import QuarantineRow, RecordRow, SourceWatermarkRow, WarningRow

runner = CliRunner()
ID_CARD = "510104199001011234"


def _lines(path: Path, *items: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path


def petition(rid: str, at: str, people: object, person: str = ID_CARD,
             region: str = "510104001001") -> dict[str, object]:
    return {"kind": "petition", "id": rid, "at": at, "region": region, "people": people, "person": person,
            "subject": "征地补偿"}


def _records() -> list[tuple[str, str, dict[str, object]]]:
    with Session(open_engine()) as s:
        return [(r.source, r.source_id, r.attributes) for r in s.exec(select(RecordRow).order_by(RecordRow.seq))]


def test_import_stores_as_the_source_quarantines_the_bad_and_is_idempotent(tmp_path: Path) -> None:
    f = _lines(tmp_path / "p.jsonl", petition("p1", "2026-01-05T09:00:00+08:00", 60),
               petition("p2", "2026-01-05T10:00:00+08:00", "many"),
               {"kind": "dispute", "id": "d1", "at": "2026-01-05T10:00:00+08:00", "region": "510104001001"})
    first = runner.invoke(app, ["records", "import", str(f), "--source", "xinfang"])
    assert first.exit_code == 0, first.output
    assert "accepted 1, duplicates 0, quarantined 2" in first.stdout
    again = runner.invoke(app, ["records", "import", str(f), "--source", "xinfang"])
    assert "accepted 0, duplicates 1" in again.stdout
    ((source, sid, attrs),) = _records()
    assert (source, sid, attrs["people"]) == ("xinfang", "p1", 60)
    assert str(attrs["person"]).startswith("p_") and ID_CARD not in json.dumps(attrs)  # pseudonymised
    with Session(open_engine()) as s:
        reasons = [q.reason for q in s.exec(select(QuarantineRow))]
        assert all(ID_CARD not in q.raw for q in s.exec(select(QuarantineRow)))
    assert any("people" in r for r in reasons) and any("wrong_kind" in r for r in reasons)


def test_csv_and_the_department_shape(tmp_path: Path) -> None:
    csv = tmp_path / "p.csv"
    csv.write_text("kind,id,at,region,people,person,subject\n"
                   f"petition,c1,2026-01-05T09:00:00+08:00,510104001001,7,{ID_CARD},\n", encoding="utf-8")
    assert runner.invoke(app, ["records", "import", str(csv), "--source", "xinfang"]).exit_code == 0
    own = _lines(tmp_path / "dept.jsonl", {"id": "m1", "occurred_at": "2026-01-05T11:00:00+08:00",
                                           "region_code": "510104001001", "id_card": ID_CARD, "people": 9})
    done = runner.invoke(app, ["records", "import", str(own), "--source", "xinfang", "--mapped"])
    assert done.exit_code == 0, done.output
    rows = _records()
    assert [(sid, a["people"]) for _, sid, a in rows] == [("c1", 7), ("m1", 9)]
    assert rows[0][2]["person"] == rows[1][2]["person"]  # one person, whichever shape it came in


def test_bad_input_is_one_line_and_stores_nothing(tmp_path: Path) -> None:
    good = _lines(tmp_path / "p.jsonl", petition("p1", "2026-01-05T09:00:00+08:00", 6))
    unknown = runner.invoke(app, ["records", "import", str(good), "--source", "nope"])
    assert unknown.exit_code == 1 and "未知来源" in unknown.output and "xinfang" in unknown.output
    broken = tmp_path / "broken.jsonl"
    broken.write_text(good.read_text() + "{not json\n", encoding="utf-8")
    cut = runner.invoke(app, ["records", "import", str(broken), "--source", "xinfang"])
    assert cut.exit_code == 1 and "broken.jsonl:2" in cut.output
    missing = runner.invoke(app, ["records", "import", str(tmp_path / "none.jsonl"), "--source", "xinfang"])
    assert missing.exit_code == 1
    for result in (unknown, cut, missing):
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert _records() == []


def test_heartbeats(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    ok = runner.invoke(app, ["records", "import", str(empty), "--source", "xinfang",
                             "--complete-up-to", "2026-01-06T00:00:00+08:00"])
    assert ok.exit_code == 0, ok.output
    with Session(open_engine()) as s:
        row = s.get(SourceWatermarkRow, "xinfang")
    assert row is not None and row.complete_up_to == datetime(2026, 1, 5, 16, tzinfo=UTC) and row.latest_at is None
    back = runner.invoke(app, ["records", "import", str(empty), "--source", "xinfang",
                               "--complete-up-to", "2026-01-05"])
    assert back.exit_code == 1 and "倒退" in back.output
    future = runner.invoke(app, ["records", "import", str(empty), "--source", "xinfang",
                                 "--complete-up-to", "2999-01-01"])
    assert future.exit_code == 1 and "未来" in future.output
    bare = runner.invoke(app, ["records", "import", str(empty), "--source", "xinfang"])
    assert bare.exit_code == 1


def test_export_then_backtest_gives_the_warnings_of_the_store(tmp_path: Path) -> None:
    f = _lines(tmp_path / "p.jsonl", petition("p1", "2026-01-05T09:00:00+08:00", 6),
               petition("p2", "2026-01-06T09:00:00+08:00", 60, region="510104001002"),
               petition("p3", "2026-01-07T09:00:00+08:00", 3), petition("p4", "2026-01-08T09:00:00+08:00", 2))
    dispute = _lines(tmp_path / "d.jsonl", {"kind": "dispute", "id": "d1", "at": "2026-01-04T09:00:00+08:00",
                                            "region": "510104001001", "person": ID_CARD, "type": "land",
                                            "status": "open"})
    assert runner.invoke(app, ["records", "import", str(dispute), "--source", "mediation"]).exit_code == 0
    assert runner.invoke(app, ["records", "import", str(f), "--source", "xinfang"]).exit_code == 0
    once = runner.invoke(app, ["evaluate", "--once"])
    assert once.exit_code == 0, once.output
    # The rules of petitions alone take them at once; the dispute-then-petition sequence waits for
    # mediation, which has delivered only up to its dispute of 4 January.
    assert "已评估 5 条记录" in once.stdout
    first = {json.loads(line)["rule"] for line in runner.invoke(
        app, ["warnings", "list", "--json", "--limit", "100"]).stdout.splitlines()}
    assert "collective-petition" in first and "unresolved-dispute-then-petition" not in first
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    beat = runner.invoke(app, ["records", "import", str(empty), "--source", "mediation", "--complete-up-to",
                               "2026-01-31"])
    assert beat.exit_code == 0, beat.output
    assert "已评估 4 条记录" in runner.invoke(app, ["evaluate", "--once"]).stdout
    listed = runner.invoke(app, ["warnings", "list", "--json", "--limit", "100"])
    stored = sorted((w["rule"], w["level"], w["fingerprint"], w["occurrences"])
                    for w in map(json.loads, listed.stdout.splitlines()))
    exported = runner.invoke(app, ["records", "export", "--since", "2026-01-01"])
    assert exported.exit_code == 0, exported.output
    assert len(exported.stdout.splitlines()) == 5
    out = tmp_path / "export.jsonl"
    out.write_text(exported.stdout, encoding="utf-8")
    bt = runner.invoke(app, ["backtest", "--records", str(out), "--format", "jsonl"])
    assert bt.exit_code == 0, bt.output
    backtested = sorted((w["rule"], w["level"], w["fingerprint"], w["occurrences"])
                        for w in map(json.loads, bt.stdout.splitlines()))
    assert stored == backtested
    assert {"collective-petition", "unresolved-dispute-then-petition", "repeat-petitioner"} <= {w[0] for w in stored}
    only = runner.invoke(app, ["records", "export", "--since", "2026-01-01", "--until", "2026-01-06", "--kind",
                               "petition"])
    assert [json.loads(line)["id"] for line in only.stdout.splitlines()] == ["p1"]


def test_warnings_list_json_lists_every_status_up_to_the_limit(tmp_path: Path) -> None:
    at = datetime(2026, 1, 5, tzinfo=UTC)
    with session_scope(open_engine()) as s:
        for i, status in enumerate(["open", "acknowledged", "resolved"]):
            s.add(WarningRow(fingerprint=f"fp{i}", open_key=None if status == "resolved" else f"fp{i}",
                             rule="collective-petition", level="yellow", status=status, region="510104001001",
                             first_at=at, last_at=at))
    every = runner.invoke(app, ["warnings", "list", "--json", "--limit", "10"])
    assert sorted(json.loads(line)["status"] for line in every.stdout.splitlines()) == [
        "acknowledged", "open", "resolved"]
    two = runner.invoke(app, ["warnings", "list", "--json", "--limit", "2"])
    assert len(two.stdout.splitlines()) == 2


def test_sources_status_shows_each_source_and_what_holds_evaluation(tmp_path: Path) -> None:
    f = _lines(tmp_path / "p.jsonl", petition("p1", "2026-01-05T09:00:00+08:00", 6),
               petition("p2", "2026-01-05T10:00:00+08:00", "many"))
    assert runner.invoke(app, ["records", "import", str(f), "--source", "xinfang"]).exit_code == 0
    done = runner.invoke(app, ["sources", "status", "--json"])
    assert done.exit_code == 0, done.output
    rows = {r["source"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert rows["xinfang"]["state"] == "live" and rows["xinfang"]["quarantined_24h"] == 1
    assert rows["xinfang"]["last_record"].startswith("2026-01-05 01:00:00")
    assert rows["mediation"]["state"] == "stale"  # never heard from: holds nothing back
    table = runner.invoke(app, ["sources", "status"])
    assert table.exit_code == 0 and "实时评估已放行至" in table.stdout


def test_live_evaluation_warns_the_city_of_a_source_gone_silent_and_clears_it(tmp_path: Path) -> None:
    from datetime import timedelta

    from flows.live import evaluate_once

    f = _lines(tmp_path / "p.jsonl", petition("p1", "2026-01-05T09:00:00+08:00", 3))
    assert runner.invoke(app, ["records", "import", str(f), "--source", "xinfang"]).exit_code == 0
    later = datetime.now(UTC) + timedelta(days=2)  # xinfang's stale_after is a day
    evaluate_once(open_engine(), now=later)
    with Session(open_engine()) as s:
        (w,) = s.exec(select(WarningRow).where(WarningRow.rule == "source-stale")).all()
    assert w.status == "open" and "xinfang" in w.summary and w.region == "510100000000"
    beat = runner.invoke(app, ["records", "import", str(f), "--source", "xinfang"])  # delivers again
    assert beat.exit_code == 0, beat.output
    evaluate_once(open_engine(), now=datetime.now(UTC))
    with Session(open_engine()) as s:
        assert s.exec(select(WarningRow).where(WarningRow.rule == "source-stale")).one().status == "resolved"


def test_a_line_nested_past_the_parser_is_quarantined_and_the_others_imported(tmp_path: Path) -> None:
    # json.loads raised RecursionError out of `records import`: a traceback, nothing stored.
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps(petition("p1", "2026-01-05T09:00:00+08:00", 6)) + "\n" + "[" * 100_000 + "\n"
                 + json.dumps(petition("p2", "2026-01-05T10:00:00+08:00", 7)) + "\n", encoding="utf-8")
    done = runner.invoke(app, ["records", "import", str(f), "--source", "xinfang"])
    assert done.exit_code == 0, done.output
    assert "accepted 2, duplicates 0, quarantined 1" in done.stdout
    with Session(open_engine()) as s:
        (kept,) = s.exec(select(QuarantineRow)).all()
    assert kept.reason.startswith("too_deep")
