"""Sequences and absences in event time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from rules.engine.evaluate import Evaluator
from rules.engine.sequences import Absences, Sequences
from tests.rules.engine_helpers import book, rec

SEQ = """
- id: dispute-then-petition
  sequence:
    - {record: dispute, where: {status: {ne: resolved}}}
    - {record: petition}
  join: [person]
  within: 7d
  level: orange
"""
ABSENCE = """
- id: care-visit-missed
  absence:
    after: {record: care_visit_due}
    missing: {record: care_visit}
  join: [person]
  within: 72h
  level: yellow
"""
H = 60
ENGINES = ["reference", "durable"]


def test_oldest_partial_completes_first_and_once() -> None:
    s = Sequences(2, 100.0)
    assert s.add(("p",), 0.0, {0}, "a") is None
    assert s.add(("p",), 1.0, {0}, "b") is None
    assert s.add(("p",), 2.0, {1}, "c") == ["a", "c"]
    assert s.add(("p",), 3.0, {1}, "d") == ["b", "d"]
    assert s.add(("p",), 4.0, {1}, "e") is None


def test_sequence_window_is_inclusive_of_first_plus_within() -> None:
    s = Sequences(2, 100.0)
    s.add(("p",), 0.0, {0}, "a")
    assert s.add(("p",), 100.0, {1}, "b") == ["a", "b"]
    s.add(("p",), 200.0, {0}, "c")
    assert s.add(("p",), 300.5, {1}, "d") is None


def test_absence_fires_only_when_the_watermark_passes() -> None:
    a = Absences(10.0)
    a.after(("p",), 0.0, "x")
    assert a.due(10.0) == []
    assert a.due(10.5) == [(10.0, "x")]


@pytest.mark.parametrize("engine", ENGINES)
def test_sequence_fires_on_the_completing_record(engine: str) -> None:
    ev = Evaluator(book(SEQ), engine)
    changes = ev.feed([
        rec("dispute", 0, person="p1", status="open", region="510104001001"),
        rec("petition", 3 * 24 * H, person="p1", region="510104002003", id="done"),
    ])
    assert len(changes) == 1
    w = changes[0][0]
    assert (w.rule, w.level.value, w.occurrences) == ("dispute-then-petition", "orange", 1)
    assert w.region == "510104002003"  # the completing record's region
    assert w.records[-1] == "test/done"


@pytest.mark.parametrize("engine", ENGINES)
def test_sequence_needs_order_join_and_within(engine: str) -> None:
    ev = Evaluator(book(SEQ), engine)
    assert ev.feed([
        rec("petition", 0, person="p1"),
        rec("dispute", 1, person="p1", status="open"),       # wrong order so far
        rec("petition", 2, person="p2"),                     # other person
        rec("dispute", 3, person="p3", status="resolved"),   # fails the step's where
        rec("petition", 4, person="p3"),
        rec("petition", 8 * 24 * H, person="p1"),            # too late
    ]) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_each_record_completes_at_most_one_match(engine: str) -> None:
    ev = Evaluator(book(SEQ), engine)
    changes = ev.feed([rec("dispute", 0, person="p", status="open"), rec("dispute", 1, person="p", status="open"),
                       rec("petition", 2, person="p")])
    assert len(changes) == 1 and changes[0][0].records[0].startswith("test/")
    more = ev.feed([rec("petition", 3, person="p")])
    assert [c.value for _, c in more] == ["updated"]


@pytest.mark.parametrize("engine", ENGINES)
def test_absence_fires_at_deadline_with_the_after_record(engine: str) -> None:
    ev = Evaluator(book(ABSENCE), engine)
    due = rec("care_visit_due", 0, person="p1", region="510104001002", id="due")
    assert ev.feed([due, rec("hotline", 72 * H)]) == []  # watermark at the deadline: not passed
    changes = ev.feed([rec("hotline", 72 * H + 1)])
    assert len(changes) == 1
    w = changes[0][0]
    assert w.first_at == due.at + timedelta(hours=72)
    assert w.region == "510104001002" and w.records == ("test/due",)


@pytest.mark.parametrize("engine", ENGINES)
def test_absence_not_fired_at_end_of_input(engine: str) -> None:
    ev = Evaluator(book(ABSENCE), engine)
    assert ev.feed([rec("care_visit_due", 0, person="p1")]) == []
    assert ev.feed([]) == []
    assert ev.snapshot()["engine"]["states"]["care-visit-missed"]["pending"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("visit_at", "fires"), [(0, False), (72 * H, False), (72 * H + 1, True), (-1, True)])
def test_absence_interval_is_closed(engine: str, visit_at: int, fires: bool) -> None:
    ev = Evaluator(book(ABSENCE), engine)
    changes = ev.feed([rec("care_visit_due", 0, person="p1"), rec("care_visit", visit_at, person="p1"),
                       rec("hotline", 100 * H)])
    assert bool(changes) is fires


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_with_same_at_arriving_first_cancels(engine: str) -> None:
    ev = Evaluator(book(ABSENCE), engine)
    changes = ev.feed([rec("care_visit_due", 0, person="p1", source="b"),
                       rec("care_visit", 0, person="p1", source="a"), rec("hotline", 100 * H)])
    assert changes == []


@pytest.mark.parametrize("engine", ENGINES)
def test_a_due_absence_fires_as_it_would_after_a_restart(engine: str) -> None:
    """The firing built straight from a pending absence equals the one read back from its JSON."""
    from rules.engine.sequences import Absences as Pending
    from rules.engine.steps import absent_firing, absent_json

    ev = Evaluator(book(ABSENCE), engine)
    ev.feed([rec("care_visit_due", 0, person="p1", region="510104001001")])
    parts: Any = ev.engine
    [(_, payload)] = [p for s in parts.states.values() if isinstance(s, Pending) for p in s.pending[("p1",)].values()]
    direct = absent_firing(parts, payload)
    assert direct == absent_firing(parts, absent_json(parts, payload))
    assert (direct.rule, direct.level.value, direct.at) == ("care-visit-missed", "yellow", rec("x", 72 * H).at)
