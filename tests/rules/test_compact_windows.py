"""The compact windows (CountWindows, DistinctWindows) answer exactly as the general Windows: aggregates,
sweeps, sizes, JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engine.count_windows import CountWindows
from rules.engine.distinct_windows import DistinctWindows
from rules.engine.windows import Windows

KEYS = st.sampled_from([("a",), ("b",), ("c", 1), ("征地",)])
VALUES = st.sampled_from(["p1", "p2", "p3", None, 7])
# (key, gap to the previous record or a step back, value, whether to sweep after it, whether to snapshot)
STEPS = st.lists(st.tuples(KEYS, st.integers(-30, 60), VALUES, st.booleans(), st.integers(0, 12)), max_size=120)
WITHIN = st.sampled_from([1.0, 10.0, 45.0, 100.0, 3600.0])


def _same(general: Windows, compact: Windows) -> None:
    assert compact.size() == general.size()
    assert json.dumps(compact.to_json()) == json.dumps(general.to_json())


def _agree(aggregate: str, compact_of: Callable[[float], Windows], within: float,
           steps: list[tuple[Any, int, Any, bool, int]]) -> None:
    """Feed ``steps`` to the general windows and the compact ones; they must agree throughout."""
    general, compact = Windows(within, aggregate), compact_of(within)
    t = 0.0
    for key, gap, value, sweep, snap in steps:
        # Mostly forward in event time, sometimes a step back (a chained warning behind its key's latest).
        t = t + gap if gap >= 0 else max(0.0, t + gap)
        assert compact.add(key, t, value) == general.add(key, t, value), (key, t, value)
        if sweep:
            general.sweep(t)
            compact.sweep(t)
            _same(general, compact)
        if snap == 0:  # now and then, both continue from their JSON
            again = compact_of(within)
            again.load_json(json.loads(json.dumps(compact.to_json())))
            compact = again
            other = Windows(within, aggregate)
            other.load_json(json.loads(json.dumps(general.to_json())))
            general = other
    _same(general, compact)


@settings(max_examples=300, deadline=None)
@given(within=WITHIN, steps=STEPS)
def test_counts_sweeps_sizes_and_json_agree(within: float, steps: list[tuple[Any, int, Any, bool, int]]) -> None:
    _agree("count", CountWindows, within, steps)  # a count ignores the values


@settings(max_examples=300, deadline=None)
@given(within=WITHIN, steps=STEPS)
def test_distinct_agrees_with_the_general_windows(within: float, steps: list[tuple[Any, int, Any, bool, int]]) -> None:
    _agree("distinct", DistinctWindows, within, steps)


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


def test_distinct_one_record_keys_stay_pairs() -> None:
    w = DistinctWindows(10.0)
    assert w.add(("k",), 0.0, "a") == 1
    assert w.slots[("k",)] == (0.0, "a")
    assert w.add(("k",), 10.0, "b") == 1  # the record at 0 is at t - within: out, the key stays a pair
    assert w.slots[("k",)] == (10.0, "b")
    assert w.add(("k",), 12.0, "c") == 2
    assert w.add(("k",), 13.0, "c") == 2


def _every_key(w: Windows, watermark: float) -> set[Any]:
    """The keys a sweep that looked at every key would keep."""
    horizon = watermark - w.within
    return {k for k, e in w.slots.items() if (latest := w._latest(e)) is not None and latest > horizon}


def _listed_once_before_latest(w: Windows) -> None:
    listed = [(k, b) for b, keys in w.buckets.items() for k in keys]
    assert sorted(map(repr, (k for k, _ in listed))) == sorted(map(repr, w.slots))  # every key, once
    for k, b in listed:
        latest = w._latest(w.slots[k])
        assert latest is None or b <= latest // w.grain


@settings(max_examples=300, deadline=None)
@given(within=WITHIN, steps=STEPS, kind=st.sampled_from(["count", "count-compact", "distinct", "distinct-compact",
                                                         "sum"]))
def test_a_sweep_forgets_what_a_sweep_of_every_key_would(within: float, steps: list[tuple[Any, int, Any, bool, int]],
                                                          kind: str) -> None:
    """Keys are listed once and moved only by sweeps; a sweep still forgets exactly the keys whose latest record
    is at or before the horizon, and no other."""
    make: dict[str, Callable[[], Windows]] = {
        "count": lambda: Windows(within, "count"), "count-compact": lambda: CountWindows(within),
        "distinct": lambda: Windows(within, "distinct"), "distinct-compact": lambda: DistinctWindows(within),
        "sum": lambda: Windows(within, "sum")}
    w = make[kind]()
    t = 0.0
    for key, gap, value, sweep, snap in steps:
        t = t + gap if gap >= 0 else max(0.0, t + gap)
        w.add(key, t, value)
        _listed_once_before_latest(w)
        if sweep:
            kept = _every_key(w, t)
            w.sweep(t)
            assert set(w.slots) == kept
            _listed_once_before_latest(w)
        if snap == 0:
            again = make[kind]()
            again.load_json(json.loads(json.dumps(w.to_json())))
            w = again
