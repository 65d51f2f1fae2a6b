"""The backtest bench measures warm processes: a checkout's first, cold run never enters its rate."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import backtest_bench  # bench/ is not a package: found through sys.path


def test_the_first_cold_run_of_each_checkout_is_thrown_away(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    roots = [tmp_path / "a", tmp_path / "b"]
    seen: set[Path] = set()

    def fake(rules: Path, records: Path, fmt: str, root: Path) -> tuple[float, float, int]:
        cold = root not in seen
        seen.add(root)
        # a warm small run takes 1 s, a warm large one 2 s; a cold first run takes 10 s whatever its size
        secs = 10.0 if cold else (2.0 if records == large else 1.0)
        return secs, secs, 3

    monkeypatch.setattr(backtest_bench, "run_cli", fake)
    got = backtest_bench.marginal(tmp_path / "rules.yaml", small, large, 1_000, "table", 1, roots)
    assert [round(g[0]) for g in got] == [1_000, 1_000]  # 1,000 more records in 1 s more CPU
    assert [(g[2], g[4]) for g in got] == [(1.0, 2.0), (1.0, 2.0)]
