"""File-drop source: CSV and JSON lines, every file taken whenever it arrives, encodings declared or
detected, an undecodable file quarantined whole, a cursor of (file, content, rows) that survives a crash."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from domain.kinds import RecordKinds
from integrations.ingest.run import IngestReport, ingest_source
from integrations.settings import Settings
from integrations.sources import FileDropSource, SourceRequestError
from integrations.sources.config import load_sources
from integrations.sources.factory import build_source
from integrations.store.db import session_scope
from integrations.store.models import CursorRow, QuarantineRow, RecordRow
from integrations.store.records import list_quarantine

SOURCES = """\
sources:
  - name: town-hotline
    kind: hotline
    filedrop: {{folder: drops, format: {fmt}, pattern: "*.{fmt}"}}
    id: ticket
    at: {{field: time, timezone: Asia/Shanghai}}
    region: {{field: region}}
    fields: {{phone: person, category: category}}
    required: [category]
"""


def row(i: int, **over: str) -> dict[str, str]:
    return {"ticket": f"T{i}", "time": f"2026-01-05T{i % 24:02d}:00:00", "region": "510104001001",
            "phone": f"1381234{i:04d}", "category": "noise", **over}


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def source(tmp_path: Path, fmt: str = "csv") -> FileDropSource:
    (tmp_path / "drops").mkdir(exist_ok=True)
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES.format(fmt=fmt), encoding="utf-8")
    spec = load_sources(path, settings=Settings()).get("town-hotline")
    src = build_source(spec, Settings())
    assert isinstance(src, FileDropSource)
    return src


def count(engine: sa.Engine, table: type) -> int:
    with session_scope(engine) as s:
        return int(s.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_csv_files_in_name_order_then_only_new_rows(
    tmp_path: Path, sqlite_engine: sa.Engine, kinds: RecordKinds
) -> None:
    src = source(tmp_path)
    write_csv(tmp_path / "drops" / "2026-01-06.csv", [row(i) for i in range(10, 15)])
    write_csv(tmp_path / "drops" / "2026-01-05.csv", [row(i) for i in range(10)] + [row(99, region="")])
    with src:
        first = ingest_source(sqlite_engine, src, kinds=kinds, key="k", page_size=4)
    assert (first.inserted, first.quarantined) == (15, 1)
    with session_scope(sqlite_engine) as s:
        cursor = s.get(CursorRow, "town-hotline").cursor  # type: ignore[union-attr]
        assert {n: e[3:] for n, e in json.loads(cursor)["files"].items()} == {
            "2026-01-05.csv": [11, True], "2026-01-06.csv": [5, True]}
        seqs = {sid: seq for sid, seq in s.execute(sa.select(RecordRow.source_id, RecordRow.seq))}
        [bad] = list_quarantine(session=s)
    assert seqs["T0"] < seqs["T9"] < seqs["T10"]  # the older file first
    assert bad.page == "2026-01-05.csv:rows 9-11" and "region" in bad.reason and "13812340099" not in bad.raw
    with (tmp_path / "drops" / "2026-01-06.csv").open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow(list(row(15).values()))
    write_csv(tmp_path / "drops" / "2026-01-07.csv", [row(16)])
    with src:
        second = ingest_source(sqlite_engine, src, kinds=kinds, key="k", page_size=4)
    assert (second.inserted, second.unchanged, second.quarantined) == (2, 0, 0)


def test_a_crash_mid_file_resumes_at_the_committed_row(
    tmp_path: Path, engine: sa.Engine, kinds: RecordKinds
) -> None:
    src = source(tmp_path)
    write_csv(tmp_path / "drops" / "a.csv", [row(i) for i in range(23)])

    class Crash(Exception):
        pass

    def crash(report: IngestReport) -> None:
        if report.pages == 2:
            raise Crash

    with src, pytest.raises(Crash):
        ingest_source(engine, src, kinds=kinds, key="k", page_size=5, progress=crash)
    assert count(engine, RecordRow) == 10
    with source(tmp_path) as fresh:  # a new process: nothing cached
        report = ingest_source(engine, fresh, kinds=kinds, key="k", page_size=5)
    assert (report.inserted, report.unchanged) == (13, 0) and count(engine, RecordRow) == 23


def test_json_lines_with_a_broken_line(tmp_path: Path, sqlite_engine: sa.Engine, kinds: RecordKinds) -> None:
    src = source(tmp_path, "jsonl")
    lines = [json.dumps(row(i)) for i in range(4)]
    lines.insert(2, '{"ticket": "T9", "time": ')
    (tmp_path / "drops" / "x.jsonl").write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    with src:
        report = ingest_source(sqlite_engine, src, kinds=kinds, key="k")
    assert (report.inserted, report.reasons) == (4, {"unparseable": 1})
    assert count(sqlite_engine, QuarantineRow) == 1


def test_json_lines_nested_past_the_stack_are_quarantined_too_deep(
    tmp_path: Path, sqlite_engine: sa.Engine, kinds: RecordKinds
) -> None:
    # Before the fix json.loads raised RecursionError out of the source: the whole drop stopped.
    src = source(tmp_path, "jsonl")
    lines = [json.dumps(row(i)) for i in range(4)]
    lines.insert(1, "[" * 100_000)
    lines.insert(3, json.dumps(row(7))[:-1] + ', "category": ' + "[" * 500 + "]" * 500 + "}")
    (tmp_path / "drops" / "x.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with src:
        report = ingest_source(sqlite_engine, src, kinds=kinds, key="k")
    assert (report.inserted, report.reasons) == (4, {"too_deep": 2})
    with session_scope(sqlite_engine) as s:
        kept = [q.raw for q in list_quarantine(session=s)]
    assert len(kept) == 2 and all(len(raw) < 250_000 for raw in kept)


def test_a_missing_folder_is_a_request_error(tmp_path: Path) -> None:
    src = source(tmp_path)
    (tmp_path / "drops").rmdir()
    with pytest.raises(SourceRequestError, match="不存在"):
        src.fetch(None, limit=10)


def write_encoded(path: Path, rows: list[dict[str, str]], encoding: str) -> None:
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_chinese_exports_are_read_in_their_encoding(
    tmp_path: Path, sqlite_engine: sa.Engine, kinds: RecordKinds, encoding: str
) -> None:
    src = source(tmp_path)
    categories = ["噪音扰民", "拖欠工资", "占道经营", "物业纠纷"] * 10
    write_encoded(tmp_path / "drops" / "a.csv", [row(i, category=c) for i, c in enumerate(categories)], encoding)
    with src:
        report = ingest_source(sqlite_engine, src, kinds=kinds, key="k", page_size=7)
    assert (report.inserted, report.quarantined) == (40, 0)
    with session_scope(sqlite_engine) as s:
        stored = [a for (a,) in s.execute(sa.select(RecordRow.attributes))]
    assert any("拖欠工资" in str(a) for a in stored)


def test_an_undecodable_file_is_quarantined_whole_and_the_source_goes_on(
    tmp_path: Path, engine: sa.Engine, kinds: RecordKinds
) -> None:
    (tmp_path / "drops").mkdir()
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES.format(fmt="csv").replace("pattern:", "encoding: utf-8, pattern:"), encoding="utf-8")
    src = build_source(load_sources(path, settings=Settings()).get("town-hotline"), Settings())
    write_encoded(tmp_path / "drops" / "1.csv", [row(1, category="噪音扰民")], "gbk")  # declared utf-8: refused
    write_csv(tmp_path / "drops" / "2.csv", [row(2)])
    with src:
        report = ingest_source(engine, src, kinds=kinds, key="k")
        again = ingest_source(engine, src, kinds=kinds, key="k")
    assert (report.inserted, report.quarantined, again.quarantined) == (1, 1, 0)
    with session_scope(engine) as s:
        [bad] = list_quarantine(session=s)
    assert bad.page == "1.csv:whole file" and "cannot be decoded as utf-8" in bad.reason
    assert "13812340001" not in bad.raw  # kept whole, but still masked


def test_a_file_arriving_late_is_taken_whatever_its_name(
    tmp_path: Path, sqlite_engine: sa.Engine, kinds: RecordKinds
) -> None:
    src = source(tmp_path)
    write_csv(tmp_path / "drops" / "2026-01-12.csv", [row(i) for i in range(3)])
    with src:
        assert ingest_source(sqlite_engine, src, kinds=kinds, key="k").inserted == 3
    write_csv(tmp_path / "drops" / "2026-01-11.csv", [row(i) for i in range(10, 14)])  # sorts before: late
    with src:
        late = ingest_source(sqlite_engine, src, kinds=kinds, key="k")
        idle = ingest_source(sqlite_engine, src, kinds=kinds, key="k")
    assert (late.inserted, idle.fetched) == (4, 0)


def test_files_are_known_by_name_and_content_not_by_their_dates(
    tmp_path: Path, sqlite_engine: sa.Engine, kinds: RecordKinds
) -> None:
    # Issue 18: a file touched (new mtime, same bytes) is not read again; one rewritten with other content
    # under the same name and size is read again from its first row (the store keeps unchanged records once).
    src = source(tmp_path)
    path = tmp_path / "drops" / "2026-01-05.csv"
    write_csv(path, [row(i) for i in range(4)])
    with src:
        assert ingest_source(sqlite_engine, src, kinds=kinds, key="k").inserted == 4
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    with src:
        assert ingest_source(sqlite_engine, src, kinds=kinds, key="k").fetched == 0
    size, mtime = path.stat().st_size, path.stat().st_mtime_ns
    write_csv(path, [row(0), row(1), row(2, category="fight"), row(3)])  # "fight" for "noise": same size
    os.utime(path, ns=(mtime, mtime + 2 * 10**9))
    assert path.stat().st_size == size
    with src:
        again = ingest_source(sqlite_engine, src, kinds=kinds, key="k")
    assert (again.fetched, again.unchanged, again.updated) == (4, 3, 1)


def test_a_cursor_of_the_earlier_form_continues(tmp_path: Path) -> None:
    src = source(tmp_path)
    write_csv(tmp_path / "drops" / "a.csv", [row(i) for i in range(3)])
    write_csv(tmp_path / "drops" / "b.csv", [row(i) for i in range(10, 15)])
    page = src.fetch("b.csv:2", limit=10)  # a.csv taken, b.csv up to its second row
    assert [r["ticket"] for r in page.items] == ["T12", "T13", "T14"]
    assert src.fetch(page.next_cursor, limit=10).items == []
