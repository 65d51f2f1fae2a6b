"""Sweeps of partial sequences and pending absences visit only what expired, and forget exactly what a
sweep of every key forgot; an absence's count of pending records stays exact."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engine.sequences import Absences, Sequences


def _every_key(s: Sequences, watermark: float) -> None:
    """The plain sweep: every key's partials filtered."""
    for key in list(s.partials):
        s.partials[key] = [p for p in s.partials[key] if p.first + s.within >= watermark]
        if not s.partials[key]:
            del s.partials[key]


def _shape(s: Sequences) -> list[Any]:
    return [(k, [(p.first, p.next, list(p.refs)) for p in v]) for k, v in s.partials.items()]


_ops = st.lists(st.tuples(st.sampled_from(["add", "add", "add", "sweep", "reload"]),
                          st.sampled_from([("a",), ("b",), ("c",), (None,)]),
                          st.integers(0, 40), st.sets(st.integers(0, 2), max_size=3)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(_ops)
def test_a_sweep_forgets_what_a_sweep_of_every_key_forgot(ops: list[Any]) -> None:
    fast, plain = Sequences(3, 10.0), Sequences(3, 10.0)
    t = 0.0
    for n, (op, key, dt, matched) in enumerate(ops):
        t += dt / 4
        if op == "add":
            assert fast.add(key, t, matched, f"r{n}") == plain.add(key, t, matched, f"r{n}")
        elif op == "sweep":
            fast.sweep(t)
            _every_key(plain, t)
        else:  # a restart from a snapshot in between
            data = fast.to_json()
            fast = Sequences(3, 10.0)
            fast.load_json(data)
        assert _shape(fast) == _shape(plain)
        assert fast.size() == plain.size()
    fast.sweep(t + 100)
    assert fast.partials == {} and fast.expiry == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["after", "after", "missing", "due", "sweep", "reload"]),
                          st.sampled_from([("a",), ("b",), ("c",)]), st.integers(0, 30)), max_size=60))
def test_an_absence_counts_its_pending_records_as_they_come_and_go(ops: list[Any]) -> None:
    a = Absences(10.0)
    t = 0.0
    for n, (op, key, dt) in enumerate(ops):
        t += dt / 3
        if op == "after":
            a.after(key, t, n)
        elif op == "missing":
            a.missing(key, t)
        elif op == "due":
            a.due(t)
        elif op == "sweep":
            a.sweep(t)
        else:
            data = a.to_json()
            a = Absences(10.0)
            a.load_json(data)
        assert a.size() == sum(len(v) for v in a.pending.values())
