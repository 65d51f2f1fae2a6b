"""Event-time sliding windows: (t - within, t], one record after another, memory bounded."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from rules.engine.count_windows import CountWindows
from rules.engine.distinct_windows import DistinctWindows
from rules.engine.evaluate import Evaluator
from rules.engine.windows import Windows
from tests.rules.engine_helpers import book, rec

NOISE = """
- id: noise
  record: hotline
  where: {category: {eq: noise}}
  window: {within: 24h, by: [community], aggregate: count}
  levels:
    - {level: blue, when: {count: {gte: 2}}}
    - {level: yellow, when: {count: {gte: 3}}}
"""


def test_lower_bound_is_exclusive() -> None:
    w = Windows(100.0, "count")
    assert w.add(("k",), 0.0) == 1
    assert w.add(("k",), 100.0) == 1  # the record at 0 is at t - within: out
    assert w.add(("k",), 199.0) == 2
    assert w.add(("k",), 200.0) == 2


def test_sum_and_distinct() -> None:
    s = Windows(10.0, "sum")
    assert [s.add(("k",), t, v) for t, v in [(0, 5), (5, 7), (10, 1), (16, 2)]] == [5, 12, 8, 3]
    d = Windows(10.0, "distinct")
    assert [d.add(("k",), t, v) for t, v in [(0, "a"), (1, "a"), (2, "b"), (11, "c"), (12, "c")]] == [1, 1, 2, 2, 1]


def test_keys_are_separate_and_swept() -> None:
    w = Windows(10.0, "count")
    for i in range(1000):
        w.add((f"k{i}",), float(i))
        if i % 50 == 0:
            w.sweep(float(i))
    assert len(w.slots) <= 70
    assert w.size() <= 70


@pytest.mark.parametrize("make", [lambda: Windows(10.0, "count"), lambda: Windows(10.0, "distinct"),
                                  lambda: CountWindows(10.0), lambda: DistinctWindows(10.0)])
def test_sweep_forgets_a_key_whose_latest_record_is_exactly_at_the_horizon(make: Any) -> None:
    w = make()
    w.add(("k",), 0.0, "a")
    w.add(("j",), 0.5, "a")
    w.sweep(10.0)  # horizon 0.0: the record at 0 is out (the lower bound is exclusive), the one at 0.5 in
    assert list(w.slots) == [("j",)]
    assert w.size() == 1


def test_late_record_counts_only_what_is_before_it() -> None:
    w = Windows(10.0, "count")
    w.add(("k",), 0.0)
    w.add(("k",), 8.0)
    assert w.add(("k",), 5.0) == 2  # records at 0 and 5; the one at 8 is after it


def test_snapshot_round_trip() -> None:
    w = Windows(10.0, "distinct")
    for t, v in [(0, "a"), (1, "b"), (2, "a")]:
        w.add(("k", 1), float(t), v)
    again = Windows(10.0, "distinct")
    again.load_json(json.loads(json.dumps(w.to_json())))
    assert again.add(("k", 1), 3.0, "c") == w.add(("k", 1), 3.0, "c") == 3


@pytest.mark.parametrize("engine", ["reference", "durable"])
def test_window_rule_counts_in_event_time(engine: str) -> None:
    ev = Evaluator(book(NOISE), engine)
    day = 24 * 60
    changes = ev.feed([rec("hotline", 0, category="noise"), rec("hotline", day, category="noise"),
                       rec("hotline", day + 1, category="noise"), rec("hotline", day + 2, category="noise")])
    # at `day` the first is out (exclusive lower bound): counts are 1, 1, 2, 3
    assert [(c.value, w.level.value) for w, c in changes] == [("opened", "blue"), ("raised", "yellow")]
    assert ev.last_values[changes[-1][0].fingerprint] == {"count": 3}


@pytest.mark.parametrize("engine", ["reference", "durable"])
def test_same_at_records_count_one_after_another(engine: str) -> None:
    ev = Evaluator(book(NOISE), engine)
    changes = ev.feed([rec("hotline", 5, category="noise", id=i) for i in ("c", "a", "b")])
    assert [c.value for _, c in changes] == ["opened", "raised"]
    warning = changes[0][0]
    assert warning.records == ("test/b",)  # sorted by id: a (1), b (2: blue), c (3: yellow)
    assert changes[1][0].records == ("test/b", "test/c")


@pytest.mark.parametrize("engine", ["reference", "durable"])
def test_missing_by_field_joins_no_window(engine: str) -> None:
    rules = NOISE.replace("by: [community]", "by: [person]")
    ev = Evaluator(book(rules), engine)
    assert ev.feed([rec("hotline", i, category="noise") for i in range(5)]) == []


@pytest.mark.parametrize("engine", ["reference", "durable"])
def test_levels_may_test_periods(engine: str) -> None:
    rules = """
    - id: noise
      record: hotline
      window: {within: 24h, by: [community], aggregate: count}
      levels:
        - {level: blue, when: {count: {gte: 3}}}
        - {level: yellow, when: {count: {gte: 2}, periods: {contains: run-up}}}
    """
    cal = {"run-up": [{"from": date(2026, 1, 6), "to": date(2026, 1, 7)}]}
    ev = Evaluator(book(rules, cal), engine)
    first = ev.feed([rec("hotline", 0), rec("hotline", 1)])
    assert first == []
    day = 24 * 60
    second = ev.feed([rec("hotline", day + 10), rec("hotline", day + 11)])
    assert [w.level.value for w, _ in second] == ["yellow"]


@pytest.mark.parametrize("engine", ["reference", "durable"])
def test_memory_is_bounded_by_window_contents(engine: str) -> None:
    ev = Evaluator(book(NOISE.replace("by: [community]", "by: [person]")), engine)
    for day in range(20):
        ev.feed([rec("hotline", day * 1440 + i, category="noise", person=f"p{day}-{i}") for i in range(200)])
    state = ev.snapshot()["engine"]["states"]["noise"]
    assert len(state) <= 2 * 200
