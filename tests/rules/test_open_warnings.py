"""OpenWarnings (rules.engine.open_warnings): a quiet firing folded in place equals the plain fold, and a
shard of a sharded backtest folds its windows' updates without building them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.warnings import Change, Firing, Level, fingerprint, made_firing
from rules.engine import steps
from rules.engine.open_warnings import OpenWarnings
from rules.run.sharded import inline_runner, sharded_backtest
from tests.rules.engine_helpers import T0, book, rec

LEVELS = [Level.blue, Level.yellow, Level.orange, Level.red]


def _firing(fp: str, level: Level, minute: int, ref: str) -> Firing:
    return made_firing(fp, rule="r", level=level, at=T0 + timedelta(minutes=minute), group={},
                  region="510104001001", records=(ref,), explanation=f"e{minute}", summary=f"s{minute}",
                  title="t", values={"count": minute}, rulebook_version="v")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 3), st.integers(0, 500),
                          st.integers(0, 40)), max_size=120))
def test_folding_in_place_equals_the_plain_fold(events: list[tuple[str, int, int, int]]) -> None:
    plain, in_place = OpenWarnings(), OpenWarnings(in_place=True)
    for fp, rank, minute, n in events:
        f = _firing(fp, LEVELS[rank], minute, f"ref-{n}")
        assert plain.quiet(fp, f.level) == in_place.quiet(fp, f.level)
        plain.fold(f)
        values = (lambda v=f.values: v) if n % 2 else f.values  # deferred or made: the same values read
        if not in_place.absorb(fp, f.level, f.at, f.records[0], values, f.rulebook_version):
            in_place.fold(f)
    in_place.settle()
    assert in_place.in_order() == plain.in_order()
    assert in_place.last_values == plain.last_values


def test_absorb_only_what_folds_quietly_into_its_own_states() -> None:
    held = OpenWarnings(in_place=True)
    assert not held.absorb("a", Level.blue, T0, "x", {}, "v")  # nothing to fold into: it opens
    state, change = held.fold(_firing("a", Level.yellow, 0, "x"))
    assert change is Change.opened
    assert not held.absorb("a", Level.orange, T0, "y", {}, "v")  # it would raise
    assert held.absorb("a", Level.blue, T0 + timedelta(minutes=1), "y", {"count": 2}, "v")
    held.settle()
    assert state.records == ("x", "y") and state.occurrences == 2 and held.last_values["a"] == {"count": 2}
    shared = OpenWarnings()  # states handed to callers: never changed in place
    shared.fold(_firing("a", Level.yellow, 0, "x"))
    assert shared.quiet("a", Level.blue) and not shared.absorb("a", Level.blue, T0, "y", {}, "v")


def test_deferred_values_are_made_only_when_read_and_only_the_latest() -> None:
    held = OpenWarnings(in_place=True)
    held.fold(_firing("a", Level.yellow, 0, "x"))
    made: list[int] = []

    def values(n: int) -> Callable[[], dict[str, Any]]:
        def make() -> dict[str, Any]:
            made.append(n)
            return {"count": n}
        return make

    for n in range(1, 6):
        assert held.absorb("a", Level.blue, T0 + timedelta(minutes=n), f"r{n}", values(n), "v")
    assert made == []  # nothing made while firings fold
    assert held.last_values == {"a": {"count": 5}} and made == [5]
    assert held.last_values == {"a": {"count": 5}} and made == [5]  # made once
    held.fold(_firing("a", Level.red, 9, "y"))
    assert held.last_values == {"a": {"count": 9}}


def test_drop_and_replace() -> None:
    held = OpenWarnings(in_place=True)
    w, _ = held.fold(_firing("a", Level.blue, 0, "x"))
    assert held.drop("a") and not held.drop("a") and held.in_order() == []
    held.replace([w])
    held.absorb("a", Level.blue, T0 + timedelta(minutes=5), "y", {}, "v")
    held.settle()
    assert w.occurrences == 1, "the caller's state is copied before it is folded into"
    assert held.in_order()[0].occurrences == 2


SPIKE = book("""
- id: spike
  record: petition
  window: {within: 1d, by: [community], aggregate: count}
  levels:
    - {level: blue, when: {count: {gte: 3}}}
    - {level: orange, when: {count: {gte: 40}}}
""")


def test_a_shard_builds_only_the_firings_that_open_or_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window over its threshold fires on every record; in a shard those that only update the
    warning are folded in place, never built with their words (over the first 40 days of the year bench's
    stream, 19% of a district shard's records had made such firings)."""
    built: list[Firing] = []
    real: Callable[..., Firing | None] = vars(steps)["firing"]  # the name run_window calls, as steps imported it

    def counting(*args: object, **kwargs: object) -> Firing | None:
        got = real(*args, **kwargs)
        if got is not None:
            built.append(got)
        return got

    monkeypatch.setattr(steps, "firing", counting)
    records = [rec("petition", m, person=f"p{m}") for m in range(60)]
    rows = sharded_backtest(SPIKE, records, runner=inline_runner)
    assert [(w["level"], w["occurrences"]) for w in rows] == [("orange", 58)]
    assert rows[0]["fingerprint"] == fingerprint("spike", {"community": "510104001001"})
    assert len(built) == 2, "the firing that opened the warning and the one that raised it"
