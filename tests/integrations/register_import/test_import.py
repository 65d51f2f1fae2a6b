"""Importing register exports: encodings detected and reported, Chinese or English headers, every kind of
bad row named by its line while good rows are kept, file-level refusals, all-or-nothing and idempotent."""

from __future__ import annotations

import codecs
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from domain.privacy import pseudonymiser
from domain.regions import RegionDirectory
from domain.registers import CareCategories
from integrations.register_import import RegisterFileError, import_register
from integrations.settings import PACKAGE_ROOT
from integrations.store.db import session_scope
from integrations.store.models import AuditRow
from integrations.store.registers import REGISTER_IMPORTED, RegisterPersonRow, close_entry

NOW = datetime(2026, 1, 5, 2, tzinfo=UTC)
CATEGORIES = CareCategories.load(PACKAGE_ROOT / "integrations" / "data" / "care_categories.yaml")
GRIDS = {c: n for c, n in RegionDirectory.load(PACKAGE_ROOT / "integrations" / "data" / "regions.yaml").names.items()
         if len(c) == 15}
PSEUDONYM = pseudonymiser("test-key")
G1, G2 = "510104001001001", "510104001001002"
HEADER = "身份证号,类别,网格,开始日期,结束日期"
GOOD = [f"510104199001011234,社区矫正对象,{G1},2026-01-01,2026-06-30",
        f"510104198502023456,独居老人,{G2},2025/12/1,",
        "51010419700303567X,left_behind_elderly,春兴湾社区第1网格,2025年11月3日,"]


def _write(tmp_path: Path, lines: list[str], encoding: str, name: str = "台账.csv") -> Path:
    path = tmp_path / name
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


def _import(engine: sa.Engine, path: Path, **kw: object):  # type: ignore[no-untyped-def]
    return import_register(engine, path, categories=CATEGORIES, grids=GRIDS, pseudonym=PSEUDONYM,
                           actor="cli:admin", now=NOW, **kw)  # type: ignore[arg-type]


def _rows(engine: sa.Engine) -> list[RegisterPersonRow]:
    with Session(engine) as s:
        return list(s.exec(select(RegisterPersonRow).order_by(col(RegisterPersonRow.id))))


@pytest.mark.parametrize(("encoding", "label"), [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 BOM"),
                                                  ("gbk", "GBK"), ("gb18030", "GB18030")])
def test_each_encoding_is_detected_reported_and_read(sqlite_engine: sa.Engine, tmp_path: Path,
                                                     encoding: str, label: str) -> None:
    lines = [HEADER, *GOOD]
    if encoding == "gb18030":  # a character GBK lacks (㐀, CJK Extension A), in a column the register ignores
        lines = [HEADER + ",备注", *(g + ",㐀" for g in GOOD)]
    report = _import(sqlite_engine, _write(tmp_path, lines, encoding))
    assert (report.encoding, report.format, report.read, len(report.added), report.problems) == (label, "CSV", 3, 3, [])
    rows = _rows(sqlite_engine)
    assert [(r.category, r.grid, r.start_date, r.end_date, r.source_line) for r in rows] == [
        ("community_corrections", G1, date(2026, 1, 1), date(2026, 6, 30), 2),
        ("living_alone_elderly", G2, date(2025, 12, 1), None, 3),
        ("left_behind_elderly", G1, date(2025, 11, 3), None, 4)]
    # Only the pseudonym is stored: the ID number is nowhere in the row.
    assert rows[0].person == PSEUDONYM("510104199001011234") and rows[0].source_file == "台账.csv"
    assert all("1990" not in str(r.model_dump()) for r in rows)


def test_english_headers_and_xlsx(sqlite_engine: sa.Engine, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id_number", "category", "grid", "start_date", "end_date", "note"])
    sheet.append(["510104199001011234", "severe_mental_disorder", int(G1), datetime(2026, 1, 2), None, "x"])
    sheet.append([" ", None, None, None, None, None])  # a blank row: skipped, not refused
    sheet.append(["510104198502023456", "留守儿童", G2, "2026-01-03", "2025-01-01", None])
    path = tmp_path / "register.xlsx"
    book.save(path)
    report = _import(sqlite_engine, path)
    assert (report.format, report.encoding, report.read, len(report.added)) == ("Excel", "xlsx", 2, 1)
    assert [(p.line, p.reason) for p in report.problems] == [(4, "bad_date")]
    assert "早于开始日期" in report.problems[0].message
    assert _rows(sqlite_engine)[0].start_date == date(2026, 1, 2)


def test_every_bad_row_is_named_by_its_line_and_good_rows_are_kept(engine: sa.Engine, tmp_path: Path) -> None:
    lines = [HEADER, *GOOD,
             f"510104196001014321,低保户,{G1},2026-01-01,",                       # 5 unknown category
             f"510104199001011234,社区矫正,{G2},2026-02-01,",                      # 6 same person+category as 2
             f"510104196001014322,独居老人,{G1},2026-02-30,",                      # 7 impossible date
             "510104196001014323,独居老人,510104099099001,2026-01-01,",            # 8 grid not in the directory
             "510104196001014324,独居老人,510104001001001,下周一,",                  # 9 unreadable date
             f",独居老人,{G1},2026-01-01,",                                         # 10 ID number missing
             f"12-3,独居老人,{G1},2026-01-01,",                                     # 11 not an ID number
             "", ",,,,"]                                                           # blank lines: skipped
    report = _import(engine, _write(tmp_path, lines, "gbk"))
    assert [(p.line, p.reason) for p in report.problems] == [
        (5, "unknown_category"), (6, "duplicate"), (7, "bad_date"), (8, "unknown_grid"), (9, "bad_date"),
        (10, "missing_value"), (11, "bad_id")]
    assert report.read == 10 and len(report.added) == 3
    assert "第 2 行" in report.problems[1].message and "低保户" in report.problems[0].message
    assert report.by_reason() == {"missing_value": 1, "bad_id": 1, "unknown_category": 1, "bad_date": 2,
                                  "unknown_grid": 1, "duplicate": 1}
    assert len(_rows(engine)) == 3
    # No message repeats an ID number.
    assert not any("510104" in str(p) and "1960" in str(p) for p in report.problems)


def test_reimporting_changes_nothing_and_a_differing_open_entry_is_refused(engine: sa.Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, [HEADER, *GOOD], "utf-8")
    first = _import(engine, path)
    again = _import(engine, path)
    assert (len(again.added), again.unchanged, again.problems) == (0, 3, [])
    assert [r.id for r in _rows(engine)] == first.added
    moved = _write(tmp_path, [HEADER, GOOD[0].replace(G1, G2)], "utf-8", "moved.csv")
    report = _import(engine, moved)
    assert [(p.line, p.reason) for p in report.problems] == [(2, "already_registered")]
    assert f"register close {first.added[0]}" in report.problems[0].message
    # A close is not undone by importing the old file again; a new start date registers the person anew.
    with session_scope(engine) as s:
        close_entry(s, first.added[0], reason="解除矫正", actor="t", now=NOW)
    assert [(p.line, p.reason) for p in _import(engine, path).problems] == [(2, "closed_earlier")]
    anew = _write(tmp_path, [HEADER, GOOD[0].replace("2026-01-01", "2026-03-01")], "utf-8", "anew.csv")
    assert len(_import(engine, anew).added) == 1
    with Session(engine) as s:
        audits = s.exec(select(AuditRow).where(AuditRow.action == REGISTER_IMPORTED)).all()
    assert [a.detail["added"] for a in audits] == [3, 0, 0, 0, 1]
    assert audits[2].detail["lines_by_reason"] == {"already_registered": [2]}
    assert "1990" not in str([a.detail for a in audits])


def test_a_dry_run_writes_nothing(sqlite_engine: sa.Engine, tmp_path: Path) -> None:
    report = _import(sqlite_engine, _write(tmp_path, [HEADER, *GOOD], "utf-8"), dry_run=True)
    assert len(report.added) == 3 and report.dry_run
    assert _rows(sqlite_engine) == []
    with Session(sqlite_engine) as s:
        assert s.exec(select(AuditRow)).all() == []


def test_a_missing_column_refuses_the_whole_file(sqlite_engine: sa.Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, ["身份证号,类别,开始日期", "510104199001011234,独居老人,2026-01-01"], "gbk")
    with pytest.raises(RegisterFileError, match=r"缺少必需的列：网格.*整个文件未导入.*GBK"):
        _import(sqlite_engine, path)
    assert _rows(sqlite_engine) == []


def test_a_line_in_another_encoding_is_refused_by_its_line(sqlite_engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    body = "\n".join([HEADER, *GOOD]).encode("utf-8")
    path.write_bytes(body + "\n".join(["", f"510104196001014321,独居老人,{G1},2026-01-01,"]).encode("gbk") + b"\n")
    report = _import(sqlite_engine, path)
    assert report.encoding == "UTF-8" and len(report.added) == 3
    assert [(p.line, p.reason) for p in report.problems] == [(5, "bad_encoding")]


@pytest.mark.parametrize(("content", "name", "words"), [
    (codecs.BOM_UTF16_LE + HEADER.encode("utf-16-le"), "a.csv", "UTF-16"),
    (bytes(range(128, 256)) * 20, "a.csv", "编码无法识别"),
    (b"", "a.csv", "空文件"),
    (b"PK\x03\x04not really a zip", "a.xlsx", "不是可读的 Excel"),
    (b"\xd0\xcf\x11\xe0", "a.xls", "另存为 .xlsx"),
])
def test_unusable_files_are_refused_whole(sqlite_engine: sa.Engine, tmp_path: Path, content: bytes, name: str,
                                          words: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(RegisterFileError, match=words):
        _import(sqlite_engine, tmp_path / name)
