"""Progress of a long backtest: bars on a terminal for reading the file and evaluating, nothing on a pipe."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from flows.backtest_progress import backtest_progress, counted_lines
from rules.language.loader import load_rulebook
from rules.run import backtest as backtest_module
from rules.run.backtest import backtest, parse_jsonl

ROOT = Path(__file__).resolve().parents[2]
HOTLINE = ('{"kind": "hotline", "id": "h%d", "at": "2026-03-01T09:%02d:00+08:00", "region": "510104001001", '
           '"category": "noise", "descriptor": "噪音扰民"}\n')


def _file(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(HOTLINE % (i, i % 60) for i in range(n)), encoding="utf-8")
    return path


def test_reading_advances_by_every_byte_and_gives_every_line(tmp_path: Path) -> None:
    path = _file(tmp_path, 10_000)  # more than two blocks of lines
    steps: list[int] = []
    with path.open(encoding="utf-8") as f:
        lines = list(counted_lines(f, steps.append))
    assert lines == path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert sum(steps) == path.stat().st_size and len(steps) >= 3


def test_evaluation_reports_each_batch_once_it_is_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = load_rulebook()
    with _file(tmp_path, 2_500).open(encoding="utf-8") as f:
        records = list(parse_jsonl(f, book.kinds))
    monkeypatch.setattr(backtest_module, "BATCH", 1_000)
    seen: list[int] = []
    assert backtest(book, records, progress=seen.append) == backtest(book, records)
    assert seen == [1_000, 1_000, 500]


def test_bars_show_on_a_terminal_and_never_on_a_pipe() -> None:
    shown = io.StringIO()
    with backtest_progress(Console(file=shown, force_terminal=True, width=120)) as bars:
        bars.reading(4_000)(4_000)
        bars.evaluating(300, "研判（--rules）")(300)
        bars.days(365)(365)
    text = shown.getvalue()
    assert "读取记录" in text and "研判（--rules）" in text and "300/300 条" in text and "100%" in text
    assert "研判存储中的记录" in text and "365/365 天" in text
    piped = io.StringIO()
    with backtest_progress(Console(file=piped, force_terminal=False)) as bars:
        bars.reading(4_000)(4_000)
        bars.evaluating(300)(300)
    assert piped.getvalue() == ""


def test_a_backtest_through_a_pipe_prints_only_its_result(tmp_path: Path) -> None:
    """The command's stderr is not a terminal here (a script, CI): no bar, no control codes in the JSON."""
    from typer.testing import CliRunner

    from flows.cli import app

    got = CliRunner().invoke(app, ["backtest", "--records", str(_file(tmp_path, 50)), "--format", "jsonl"])
    assert got.exit_code == 0, got.output
    rows = [json.loads(line) for line in got.stdout.splitlines()]
    assert rows and all("rule" in row for row in rows)
    assert "\x1b" not in got.output
