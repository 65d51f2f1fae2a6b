"""The rules benchmark's floors do the same work as the engine (a bench that measured less would flatter us)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import rules_bench  # bench/ is not a package: found through sys.path

from rules.language.loader import Rulebook, load_rulebook


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return load_rulebook()


def test_both_floors_find_the_same_matches(book: Rulebook) -> None:
    _, _, bare = rules_bench.run_floor(book, 6_000, 3, 200_000)
    _, through_api = rules_bench.run_floor_api(book, 6_000, 3, 200_000)
    assert bare > 100  # the stream exercises the conditions
    assert through_api == bare


def test_the_wrapper_answers_like_the_reference(book: Rulebook) -> None:
    """DurableMatcher.match, timed against the floor, gives the PythonMatcher's answers on the same fields."""
    from rules.engine.engines import DurableEngine, ReferenceEngine

    durable, reference = DurableEngine(book), ReferenceEngine(book)
    try:
        for chunk in rules_bench.stream(4_000, 5, 200_000):
            items = rules_bench._light_items(durable, chunk)
            got = [set(x) for x in durable.matcher.match(items)]
            assert got == [set(x) for x in reference.matcher.match(items)]
            assert any(got)
    finally:
        durable.close()
        reference.close()


def test_main_prints_every_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    assert rules_bench.main(["--records", "3000", "--engines", "floor,floor-api,durable", "--clock", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "ratio DurableMatcher / floor" in out
    assert "full pipeline  / floor-api" in out


def test_the_baseline_variant_compares_the_same_rules_without_them(book: Rulebook, capsys: pytest.CaptureFixture[str]
                                                                   ) -> None:
    from rules.language.model import BASELINE_NAMES

    plain = rules_bench.without_baselines(book)
    assert [r.id for r in plain.rules] == [r.id for r in book.rules]
    assert any(r.baseline is not None for r in book.rules)
    assert all(r.baseline is None for r in plain.rules)
    assert not [t for r in plain.rules for s in r.levels if s.when for t in s.when.walk() if t.field in BASELINE_NAMES]
    assert rules_bench.main(["--records", "3000", "--per-day", "300", "--engines", "baseline", "--clock", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "ratio with / without baselines" in out
    assert "history held 0" not in out


def test_places_makes_the_stream_firing_heavy(book: Rulebook, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--places 40``: the same stream over 40 communities only, so the windows stay over their thresholds."""
    spread = [r for chunk in rules_bench.stream(6_000, 3, 200_000) for r in chunk]
    _, _, changes_spread = rules_bench.run_engine(book, "durable", 6_000, 3, 200_000, 10**9, 0)
    monkeypatch.setattr(rules_bench, "places_limit", 40)
    packed = [r for chunk in rules_bench.stream(6_000, 3, 200_000) for r in chunk]
    _, _, changes_packed = rules_bench.run_engine(book, "durable", 6_000, 3, 200_000, 10**9, 0)
    assert len({r.region for r in packed}) <= 40 < len({r.region for r in spread})
    assert len(packed) == len(spread)
    assert changes_packed > 2 * changes_spread


def test_the_cli_path_runs_fenghuo_backtest_end_to_end(tmp_path: Path) -> None:
    import rules_bench_cli

    path = tmp_path / "s.jsonl"
    rules_bench_cli.write_jsonl(path, 500, 3, 200_000)
    from rules.language.loader import load_rulebook as load
    from rules.run.backtest import parse_jsonl

    records = list(parse_jsonl(path.read_text(encoding="utf-8").splitlines(), load().kinds))
    assert [r.id for r in records] == [r.id for c in rules_bench.stream(500, 3, 200_000) for r in c]
    rate, wall_rate, lines = rules_bench_cli.cli_marginal(None, 3_000, 3, 200_000)
    assert rate > 0 and wall_rate > 0 and lines > 0
