"""Baselines (rule language 1.1): the arithmetic by hand, the half-open sample intervals, the bounded
history, the load errors, and what summaries and explanations show."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engine.baselines import Baselines, measure, shown
from rules.engine.engines import ReferenceEngine
from rules.engine.evaluate import Evaluator
from rules.language.check import CheckResult
from tests.rules.engine_helpers import book, rec

Write = Callable[[str, str], Path]
Check = Callable[..., CheckResult]

SURGE = """
- id: surge
  record: hotline
  window: {within: 1h, by: [community], aggregate: count}
  baseline: {samples: 3, every: 1d}
  levels:
    - {level: blue, when: {count: {gte: 2}, zscore: {gte: 1}}}
    - {level: yellow, when: {count: {gte: 3}, ratio: {gte: 3}}}
  summary: "{count} 件，前 3 天同期平均 {expected}，{ratio} 倍，离散 {spread}，z {zscore}"
"""
DAY = 1440  # minutes


# -- arithmetic -----------------------------------------------------------------------------------


def test_mean_population_spread_ratio_and_zscore_by_hand() -> None:
    m = measure(11, [2, 4, 4, 4, 5, 5, 7, 9])  # mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32; 32/8 = 4
    assert m == {"expected": 5.0, "spread": 2.0, "ratio": 11 / 5, "zscore": 3.0}


def test_empty_history_is_zero_and_ratio_divides_by_at_least_one() -> None:
    assert measure(3, [0, 0, 0]) == {"expected": 0.0, "spread": 0.0, "ratio": 3.0, "zscore": 3.0}
    assert measure(3, [0, 1])["ratio"] == 3.0  # expected 0.5: divided by 1, not 0.5


def test_spread_below_one_counts_as_one() -> None:
    assert measure(8, [5, 5])["zscore"] == 3.0  # spread 0
    assert measure(8, [4.5, 5.5]) == {"expected": 5.0, "spread": 0.5, "ratio": 1.6, "zscore": 3.0}
    assert measure(8, [3, 7]) == {"expected": 5.0, "spread": 2.0, "ratio": 1.6, "zscore": 1.5}


def test_numbers_are_shown_to_two_decimals_whole_ones_without() -> None:
    assert [shown(x) for x in (5.0, 2 / 3, -0.5, 12, 1.005, 1e-9)] == [5, 0.67, -0.5, 12, 1.0, 0]
    assert isinstance(shown(5.0), int)


# -- samples over the history -----------------------------------------------------------------------


def _add_all(b: Baselines, key: tuple[str, ...], items: list[tuple[float, object]]) -> list[list[float | int]]:
    out, wm = [], -math.inf
    for t, v in items:
        wm = max(wm, t)
        out.append(b.add(key, t, v, wm))
    return out


def test_sample_intervals_are_open_below_and_closed_above() -> None:
    b = Baselines(within=10.0, every=100.0, samples=2, aggregate="count")
    # For t = 200: sample 1 is (90, 100], sample 2 is (-10, 0].
    _add_all(b, ("k",), [(-10.0, None), (0.0, None), (90.0, None), (91.0, None), (100.0, None)])
    assert b.add(("k",), 190.0, None, 190.0) == [1, 1]  # (80, 90]: 90; (-20, -10]: -10 — both at the upper bound
    assert b.add(("k",), 200.0, None, 200.0) == [2, 1]  # 91 and 100; 0 — not 90 nor -10, at the lower bound


def test_the_current_record_and_other_keys_are_not_in_the_samples() -> None:
    b = Baselines(within=10.0, every=100.0, samples=1, aggregate="count")
    assert _add_all(b, ("k",), [(100.0, None), (100.0, None)]) == [[0], [0]]
    b.add(("j",), 5.0, None, 100.0)  # late for the watermark but inside the history
    assert b.add(("k",), 105.0, None, 105.0) == [0]
    assert b.add(("j",), 105.0, None, 105.0) == [1]


def test_sum_and_distinct_samples() -> None:
    s = Baselines(within=10.0, every=100.0, samples=2, aggregate="sum")
    _add_all(s, ("k",), [(1.0, 5), (2.0, 7.5), (95.0, 3), (100.0, 4)])
    assert s.add(("k",), 200.0, 1, 200.0) == [7, 0]  # (90, 100]: 3 + 4; (-10, 0]: nothing → 0
    assert s.add(("k",), 202.0, 1, 202.0) == [7, 12.5]  # (-8, 2]: 5 + 7.5
    d = Baselines(within=10.0, every=100.0, samples=1, aggregate="distinct")
    _add_all(d, ("k",), [(91.0, "a"), (92.0, "b"), (93.0, "a")])
    assert d.add(("k",), 200.0, "z", 200.0) == [2]


def test_history_keeps_only_what_a_sample_can_reach_and_forgets_as_event_time_passes() -> None:
    """Everything a sample can reach is kept; what the watermark left behind goes at the next sweep, one
    pace (a quarter of ``within``, at least a minute) of event time at the latest."""
    b = Baselines(within=400.0, every=1000.0, samples=2, aggregate="count")  # reach: 2·1000 + 400 = 2400
    assert b.pace == 100.0
    seen: list[float] = []
    swept_by_itself = 0
    for i in range(3000):
        t = i * 3.0
        b.add((f"k{i % 7}",), t, None, t)
        seen.append(t)
        inside = sum(1 for a in seen if a > t - 2400)
        assert inside <= b.size() <= sum(1 for a in seen if a > t - 2400 - 100)
        swept_by_itself += b.size() == inside < len(seen)
    assert swept_by_itself > 50  # it did evict as the watermark passed, not only at the end
    b.sweep(9000.0)  # a sweep leaves exactly what a sample can reach
    assert b.size() == sum(1 for a in seen if a > 9000.0 - 2400)
    b.sweep(9000.0 + 2400)  # the watermark moves on with no record of this rule
    assert b.size() == 0 and b.ats == {} and b.buckets == {}


def test_a_key_whose_oldest_record_comes_late_is_still_evicted() -> None:
    """A record behind its key's oldest (a late chained warning) lists its key again: a sweep still finds
    it at its time, and the second listing goes with the key."""
    b = Baselines(within=400.0, every=1000.0, samples=1, aggregate="count")
    b.add(("k",), 5000.0, None, 5000.0)
    b.add(("k",), 3700.0, None, 5000.0)  # before k's oldest, after the floor 5000 − 1400
    b.sweep(5000.0 + 150)  # floor 3750: the late record goes, the other stays
    assert list(b.ats[("k",)]) == [5000.0]
    b.sweep(5000.0 + 1400)
    assert b.size() == 0 and b.buckets == {}


def test_a_sample_never_reads_what_the_watermark_left_behind_swept_or_not() -> None:
    """Records at or before watermark − reach are out of every sample even before a sweep: what a
    sample sees cannot depend on when the engine swept."""
    fresh = Baselines(within=10.0, every=100.0, samples=2, aggregate="count")
    swept = Baselines(within=10.0, every=100.0, samples=2, aggregate="count")
    for b in (fresh, swept):
        b.add(("k",), 0.0, None, 0.0)
        b.add(("j",), 300.0, None, 300.0)
    swept.sweep(300.0)
    # a late record of k at 200 (behind the watermark 300): its sample 2 is (-10, 0], but 0 ≤ 300 − 210
    assert fresh.add(("k",), 200.0, None, 300.0) == swept.add(("k",), 200.0, None, 300.0) == [0, 0]


def test_history_round_trips_through_json() -> None:
    b = Baselines(within=10.0, every=100.0, samples=2, aggregate="distinct")
    _add_all(b, ("k", "x"), [(0.0, "a"), (95.0, "b"), (99.0, "c")])
    again = Baselines(within=10.0, every=100.0, samples=2, aggregate="distinct")
    again.load_json(json.loads(json.dumps(b.to_json())))
    assert again.add(("k", "x"), 200.0, "q", 200.0) == b.add(("k", "x"), 200.0, "q", 200.0) == [2, 1]
    assert again.size() == b.size()


_values = st.one_of(st.integers(-1000, 1000), st.integers(-(1 << 63), 1 << 63), st.sampled_from([0.1, 2.5, -1e-3]),
                   st.sampled_from(["x", None, True]))


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(-30, 40), _values), min_size=1, max_size=80),
       restore_at=st.integers(0, 80))
def test_sum_samples_equal_a_direct_sum_of_the_records_they_reach(
        steps: list[tuple[str, int, object]], restore_at: int) -> None:
    """Running totals (whole numbers) or a direct sum (anything else), through sweeps, late records and a
    restore from JSON midway: every sample is the sum, in time order, of the records in its interval."""
    b = Baselines(within=10.0, every=25.0, samples=3, aggregate="sum")
    seen: list[tuple[float, str, object]] = []
    t = watermark = 0.0
    for i, (key, dt, value) in enumerate(steps):
        if i == restore_at:
            again = Baselines(within=10.0, every=25.0, samples=3, aggregate="sum")
            again.load_json(json.loads(json.dumps(b.to_json())))
            b = again
        t = max(t + dt, 0.0) if dt >= 0 else max(watermark + dt, 0.0)  # a negative step: a late record
        watermark = max(watermark, t)
        got = b.add((key,), t, value, watermark)
        seen.append((t, key, value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0))
        floor = watermark - b.span
        expect = []
        for d in (25.0, 50.0, 75.0):
            lo, hi = max(t - d - 10.0, floor), t - d
            ordered = sorted((x for x in seen[:-1] if x[1] == key), key=lambda x: x[0])  # stable: ties as added
            expect.append(sum(v for a, _, v in ordered if lo < a <= hi))
        assert got == expect and [type(g) for g in got] == [type(e) for e in expect], (got, expect)


# -- in the engine ---------------------------------------------------------------------------------


def _run(rules: str, minutes: list[float], engine: str = "durable") -> Evaluator:
    ev = Evaluator(book(rules), engine)
    ev.feed([rec("hotline", m) for m in minutes])
    return ev


@pytest.mark.parametrize("engine", ["durable", "reference"])
def test_levels_summary_and_explanation(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # day 0: 1 record; day 1: 2; day 2: 3 → at the third record of day 2 the samples are [2, 1, 0]
    ev = _run(SURGE, [0, DAY, DAY + 1, 2 * DAY, 2 * DAY + 1, 2 * DAY + 2], engine)
    try:
        [w] = ev.warnings()
        assert (w.rule, w.level.value, w.occurrences) == ("surge", "yellow", 3)
        # the latest firing: count 3, samples [2, 1, 0]: expected 1, spread √(2/3) = 0.816…, ratio 3, zscore 2
        assert w.summary == "3 件，前 3 天同期平均 1，3 倍，离散 0.82，z 2"
        assert "基线：前 3 个同期样本（每隔 1d）[2, 1, 0] → 期望 1，离散 0.82，倍数 3，标准分 2" in w.explanation
        assert "ratio=3 ≥ 3" in w.explanation
        assert not re.search(r"\b(within|records|baseline|expected|spread|yellow|conditions)\b", w.explanation)
        # one language: the same explanation in English through the catalogue, both engines alike
        from integrations.i18n import translate
        from integrations.settings import get_settings

        monkeypatch.setenv("FENGHUO_LANG", "en")
        get_settings.cache_clear()
        english = translate(w.explanation)
        assert english.startswith("rule surge: within 1h, by community; count=3 ≥ 3; ratio=3 ≥ 3; baseline: 3 "
                                  "earlier samples (every 1d) [2, 1, 0] → expected 1, spread 0.82, ratio 3, zscore 2"
                                  " → yellow"), english
        assert not re.search(r"[\u4e00-\u9fff]", english), english
        assert ev.last_values[w.fingerprint] == {"count": 3, "expected": 1, "spread": 0.82, "ratio": 3,
                                                 "zscore": 2, "samples": [2, 1, 0]}
    finally:
        ev.close()


def test_first_firing_has_an_empty_history_behind_it() -> None:
    ev = _run(SURGE.replace("gte: 3}}", "gte: 99}}"), [0, 1])  # yellow out of reach
    try:
        [w] = ev.warnings()
        assert w.level.value == "blue"
        assert "[0, 0, 0] → 期望 0" in w.explanation  # zscore 2 over a quiet history
    finally:
        ev.close()


def test_engine_history_is_bounded_by_the_reach() -> None:
    eng = ReferenceEngine(book(SURGE))
    try:
        recs = [rec("hotline", m, region=f"5101040010{m % 5 + 1:02d}") for m in range(0, 20 * DAY, 7)]
        eng.process(recs, lambda r, f: [])
        [history] = eng.baselines.values()
        reach = 3 * 86400 + 3600
        newest = eng.watermark
        inside = sum(1 for r in recs if r.at.timestamp() > newest - reach)
        assert inside <= history.size() < len(recs) / 4
        history.sweep(newest)
        assert history.size() == inside
        assert set(eng.snapshot()["baselines"]) == {"surge"}
    finally:
        eng.close()


def test_two_batches_with_a_snapshot_between_equal_one_run() -> None:
    minutes = [m for d in range(6) for m in range(d * DAY, d * DAY + 10 * (d % 3 + 1), 7)]
    whole = _run(SURGE, minutes)
    first = Evaluator(book(SURGE))
    first.feed([rec("hotline", m, id=f"x{m}") for m in minutes[: len(minutes) // 2]])
    snap = json.loads(json.dumps(first.snapshot()))
    first.close()
    second = Evaluator.restore(book(SURGE), snap)
    second.feed([rec("hotline", m, id=f"x{m}") for m in minutes[len(minutes) // 2 :]])
    try:
        key = [(w.rule, w.level, w.occurrences, w.summary) for w in whole.warnings()]
        assert key and key == [(w.rule, w.level, w.occurrences, w.summary) for w in second.warnings()]
    finally:
        whole.close()
        second.close()


# -- the language ------------------------------------------------------------------------------------


def _file(body: str) -> str:
    return "ruleset: b\nrules:\n" + body


WINDOW = """  - id: a
    record: hotline
    window: {within: 24h, by: [community], aggregate: count}
"""


@pytest.mark.parametrize(("baseline", "message"), [
    ("{samples: 0, every: 7d}", "基线 samples 须为 1 到 52 的整数，得到 0"),
    ("{samples: 53, every: 7d}", "基线 samples 须为 1 到 52 的整数，得到 53"),
    ("{samples: eight, every: 7d}", "基线 samples 须为 1 到 52 的整数，得到 'eight'"),
    ("{samples: true, every: 7d}", "基线 samples 须为 1 到 52 的整数，得到 True"),
    ("{samples: 8, every: 7w}", "时长须为正数加 s、m、h 或 d（例如 90m、7d），得到 '7w'"),
    ("{samples: 8}", "基线需要 'every'，例如 baseline: {samples: 8, every: 7d}"),
    ("{samples: 8, every: 7d, sample: 3}", "未知的键 'sample'；是否应为 'samples'？"),
    ("8", "baseline 须为映射，例如 baseline: {samples: 8, every: 7d}，得到 8"),
])
def test_bad_baselines_are_file_line_errors(write: Write, check: Check, baseline: str, message: str) -> None:
    path = write("b.yaml", _file(WINDOW + f"    baseline: {baseline}\n    level: blue\n"))
    assert check(path).lines() == [f"{path}:6: {message}"]


def test_baseline_needs_a_window_rule(write: Write, check: Check) -> None:
    path = write("b.yaml", _file("  - id: a\n    record: hotline\n    baseline: {samples: 8, every: 7d}\n"
                                 "    level: blue\n"))
    assert check(path).lines() == [
        f"{path}:5: 'baseline' 只能与 'window' 一起使用：只有窗口规则才有可与历史比较的聚合值"]


def test_baseline_names_need_a_baseline(write: Write, check: Check) -> None:
    path = write("b.yaml", _file(WINDOW + "    levels:\n      - {level: blue, when: {ratio: {gte: 3}}}\n"
                                 '    summary: "{count}，平均 {expected}"\n'))
    need = "需要基线：请在规则 'a' 中加上如 baseline: {samples: 8, every: 7d}"
    assert check(path).lines() == [f"{path}:7: 'ratio' {need}", f"{path}:8: 'expected' {need}"]
    simple = write("s.yaml", _file("  - id: s\n    record: petition\n    levels:\n"
                                   "      - {level: blue, when: {zscore: {gte: 3}}}\n"))
    [line] = check(simple).lines()
    assert line.startswith(f"{simple}:6: 'zscore' 需要基线，而基线只用于窗口规则")


def test_a_good_baseline_rule_loads(write: Write, check: Check) -> None:
    path = write("b.yaml", _file(WINDOW + "    baseline: {samples: 8, every: 7d}\n    levels:\n"
                                 "      - {level: blue, when: {count: {gte: 10}, zscore: {gte: 3}}}\n"
                                 "      - {level: yellow, when: {expected: {lt: 5}, spread: {lte: 2},"
                                 " ratio: {gte: 4}}}\n"
                                 '    summary: "{count} 件，平均 {expected}，{ratio} 倍，z={zscore}，离散 {spread}"\n'))
    assert check(path).lines() == []
