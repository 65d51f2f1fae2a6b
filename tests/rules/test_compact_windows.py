"""The compact windows (CountWindows, DistinctWindows) answer exactly as the general Windows: aggregates,
sweeps, sizes, JSON."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.count_windows import CountWindows
from rules.distinct_windows import DistinctWindows
from rules.windows import Windows

KEYS = st.sampled_from([("a",), ("b",), ("c", 1), ("征地",)])
# (key, gap to the previous record or a step back, whether to sweep after it, whether to snapshot)
STEP = st.tuples(KEYS, st.integers(-30, 60), st.booleans(), st.integers(0, 12))


def _same(general: Windows, compact: CountWindows) -> None:
    assert compact.size() == general.size()
    assert json.dumps(compact.to_json()) == json.dumps(general.to_json())


@settings(max_examples=300, deadline=None)
@given(within=st.sampled_from([1.0, 10.0, 45.0, 100.0, 3600.0]), steps=st.lists(STEP, max_size=120))
def test_counts_sweeps_sizes_and_json_agree(within: float, steps: list[tuple[Any, int, bool, int]]) -> None:
    general, compact = Windows(within, "count"), CountWindows(within)
    t = 0.0
    for key, gap, sweep, snap in steps:
        # Mostly forward in event time, sometimes a step back (a chained warning behind its key's latest).
        t = t + gap if gap >= 0 else max(0.0, t + gap)
        assert compact.add(key, t) == general.add(key, t), (key, t)
        if sweep:
            general.sweep(t)
            compact.sweep(t)
            _same(general, compact)
        if snap == 0:  # now and then, both continue from their JSON
            again = CountWindows(within)
            again.load_json(json.loads(json.dumps(compact.to_json())))
            compact = again
            other = Windows(within, "count")
            other.load_json(json.loads(json.dumps(general.to_json())))
            general = other
    _same(general, compact)


def test_one_record_keys_stay_plain_times() -> None:
    w = CountWindows(10.0)
    assert w.add(("k",), 0.0) == 1
    assert w.slots[("k",)] == 0.0  # a float, not a list: no object for the collector to walk
    assert w.add(("k",), 5.0) == 2
    assert w.add(("k",), 20.0) == 1  # both earlier ones left the window
    assert w.slots[("k",)] == 20.0
    assert w.add(("k",), 30.0) == 1  # the lower bound is exclusive: the record at 20 is out
    assert w.add(("k",), 35.0) == 2
    assert w.add(("k",), 45.0) == 1  # …from a list of times too


def test_sweep_forgets_what_event_time_left_behind() -> None:
    w = CountWindows(10.0)
    for i in range(1000):
        w.add((f"k{i}",), float(i))
        w.add((f"k{i}",), float(i) + 0.5)
        if i % 50 == 0:
            w.sweep(float(i))
    assert len(w.slots) <= 70
    assert w.size() <= 140


VALUES = st.sampled_from(["p1", "p2", "p3", None, 7])


@settings(max_examples=300, deadline=None)
@given(within=st.sampled_from([1.0, 10.0, 45.0, 3600.0]),
       steps=st.lists(st.tuples(KEYS, st.integers(-30, 60), VALUES, st.booleans(), st.integers(0, 12)), max_size=120))
def test_distinct_agrees_with_the_general_windows(within: float, steps: list[tuple[Any, int, Any, bool, int]]) -> None:
    general, compact = Windows(within, "distinct"), DistinctWindows(within)
    t = 0.0
    for key, gap, value, sweep, snap in steps:
        t = t + gap if gap >= 0 else max(0.0, t + gap)
        assert compact.add(key, t, value) == general.add(key, t, value), (key, t, value)
        if sweep:
            general.sweep(t)
            compact.sweep(t)
            _same(general, compact)
        if snap == 0:
            again = DistinctWindows(within)
            again.load_json(json.loads(json.dumps(compact.to_json())))
            compact = again
            other = Windows(within, "distinct")
            other.load_json(json.loads(json.dumps(general.to_json())))
            general = other
    _same(general, compact)


def test_distinct_one_record_keys_stay_pairs() -> None:
    w = DistinctWindows(10.0)
    assert w.add(("k",), 0.0, "a") == 1
    assert w.slots[("k",)] == (0.0, "a")
    assert w.add(("k",), 10.0, "b") == 1  # the record at 0 is at t - within: out, the key stays a pair
    assert w.slots[("k",)] == (10.0, "b")
    assert w.add(("k",), 12.0, "c") == 2
    assert w.add(("k",), 13.0, "c") == 2
