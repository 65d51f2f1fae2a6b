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
