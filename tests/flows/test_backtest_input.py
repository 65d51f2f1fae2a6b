"""``fenghuo backtest --records``: a file in the engine's order is evaluated as it is read, one out of order
is read whole and sorted; the same warnings either way, and the same one-line errors."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows import backtest_input
from flows.cli import app

runner = CliRunner()


def _lines(n: int) -> list[str]:
    """A seeded stream in the engine's order: petitions and hotline calls, several at one instant."""
    rng = random.Random(3)
    out = []
    for i in range(n):
        minute = i // 3  # three records an instant
        kind = rng.choice(["petition", "hotline"])
        row: dict[str, Any] = {"kind": kind, "source": rng.choice(["a", "b"]), "id": f"r{i:05d}",
                               "at": f"2026-03-01T{8 + minute // 60:02d}:{minute % 60:02d}:00+08:00",
                               "region": f"51010400100{rng.randrange(1, 4)}"}
        row.update({"people": rng.randrange(1, 80)} if kind == "petition" else {"category": "noise"})
        out.append(row)
    out.sort(key=lambda r: (r["at"], r["source"], r["id"]))
    return [json.dumps(r, ensure_ascii=False) for r in out]


def _run(path: Path) -> Any:
    return runner.invoke(app, ["backtest", "--records", str(path), "--format", "jsonl"])


def test_in_order_and_shuffled_give_the_same_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _lines(600)
    ordered, shuffled = tmp_path / "ordered.jsonl", tmp_path / "shuffled.jsonl"
    ordered.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mixed = lines[:]
    random.Random(1).shuffle(mixed)
    shuffled.write_text("\n".join(mixed) + "\n", encoding="utf-8")
    whole: list[Path] = []
    read_whole = backtest_input._read_records

    def spy(path: Path, *args: Any) -> Any:
        whole.append(path)
        return read_whole(path, *args)

    monkeypatch.setattr(backtest_input, "_read_records", spy)
    a, b = _run(ordered), _run(shuffled)
    assert a.exit_code == b.exit_code == 0, a.output + b.output
    assert a.stdout == b.stdout and len(a.stdout.splitlines()) > 5
    assert whole == [shuffled]  # only the file out of order was held whole


def test_a_bad_line_is_one_line_whichever_way_the_file_is_read(tmp_path: Path) -> None:
    lines = _lines(50)
    for name, body in (("ordered", lines), ("late", [lines[10], *lines[:10], *lines[11:]])):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("\n".join([*body[:30], "{broken", *body[30:]]) + "\n", encoding="utf-8")
        result = _run(path)
        assert result.exit_code == 1 and result.stdout == ""
        assert result.output.startswith(f"错误：{path}:31: 不是合法的 JSON"), result.output
