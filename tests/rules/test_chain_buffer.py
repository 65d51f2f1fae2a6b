"""The chain buffer (rules/run/chain_buffer.py) and the evaluator's hooks it relies on (``on_chain``,
``feed(in_order=True)``). Equivalence with a single run under delivery orders is in test_grouped.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.records import Record
from domain.warnings import Firing, Level
from rules.engine.evaluate import Evaluator
from rules.language.loader import load_rulebook
from rules.run.chain_buffer import ChainBuffer, upto_clock, upto_record
from rules.run.shard_run import SubRulebook

T0 = datetime(2026, 3, 2, tzinfo=UTC)
REGION = "510104001001"


def _rec(kind: str, minutes: int, rid: str, source: str = "xinfang", **attrs: Any) -> Record:
    return Record(kind=kind, source=source, id=rid, at=T0 + timedelta(minutes=minutes), region=REGION,
                  attributes=attrs)


def _firing(rule: str, minutes: int) -> Firing:
    return Firing(rule=rule, level=Level.yellow, at=T0 + timedelta(minutes=minutes), group={}, region=REGION,
                  records=(), explanation="")


def _warning(n: int, minutes: int) -> Record:
    return Record(kind="warning", source="fenghuo", id=f"w-{n}", at=T0 + timedelta(minutes=minutes), region=REGION,
                  attributes={"rule": "r", "level": "yellow"})


def _buffer() -> ChainBuffer:
    return ChainBuffer({"absent": 0, "plain": 1, "later": 2}, ["absent"])


def _ids(entries: list[tuple[Any, Record]]) -> list[str]:
    """Warnings by id, the producers' records as ``@id``."""
    return [w.id if w.kind == "warning" else f"@{w.id}" for _, w in entries]


def test_warnings_come_out_at_their_single_run_places_among_the_producers_times() -> None:
    buf = _buffer()
    a, b, c = _rec("petition", 10, "a"), _rec("petition", 10, "b"), _rec("dispute", 30, "c", source="mediation")
    buf.saw([a, b])
    buf(b, _warning(1, 10), _firing("later", 10))
    buf(b, _warning(2, 10), _firing("plain", 10))  # one record's firings: by rule index, not arrival
    buf.saw([c])
    buf(c, _warning(3, 5), _firing("absent", 5))  # due at 5, fired by the producer at c
    buf(a, _warning(4, 10), _firing("plain", 10))
    buf(a, _warning(5, 10), _firing("plain", 10))  # the same place twice: in the order made
    # A single run's time reaches 10 at a: every absence due before 10 fires there, before a's own warnings.
    assert _ids(buf.release(upto_clock(T0 + timedelta(minutes=20)))) == ["@a", "w-3", "w-4", "w-5", "@b", "w-2", "w-1"]
    assert _ids(buf.release(upto_clock(T0 + timedelta(minutes=30)))) == ["@c"]
    assert (len(buf), buf.late) == (0, 0)


def test_release_stops_at_the_last_record_or_before_the_absences_due_at_the_clock() -> None:
    buf = _buffer()
    a, b = _rec("petition", 10, "a"), _rec("petition", 10, "b")
    buf.saw([a, b])
    buf(a, _warning(1, 10), _firing("plain", 10))
    buf(b, _warning(2, 10), _firing("plain", 10))
    buf(b, _warning(3, 10), _firing("absent", 10))
    assert _ids(buf.release(upto_record(a))) == ["@a", "w-1"]
    # time is at 10: an absence due at 10 has not fired in a single run; it waits for a record past 10
    assert _ids(buf.release(upto_clock(T0 + timedelta(minutes=11)))) == ["@b", "w-2"]
    buf.saw([_rec("petition", 12, "d")])
    assert _ids(buf.release(upto_clock(T0 + timedelta(minutes=11)))) == []
    assert _ids(buf.release(upto_clock(T0 + timedelta(minutes=12)))) == ["@d", "w-3"]
    assert buf.late == 0
    buf(a, _warning(4, 10), _firing("plain", 10))  # behind what was released: a caller's mistake, counted
    assert buf.late == 1


def test_a_record_two_producers_took_comes_once_and_the_chained_groups_own_kinds_not_at_all() -> None:
    buf = ChainBuffer({"plain": 0}, [], reads=["dispute"])
    a = _rec("petition", 10, "a")
    buf.saw([a, _rec("dispute", 11, "c", source="mediation")])
    buf.saw([a])
    assert _ids(buf.release(upto_clock(T0 + timedelta(minutes=20)))) == ["@a"]
    buf.saw([a])  # behind what was released: nothing to move
    assert _ids(buf.release(upto_clock(T0 + timedelta(minutes=30)))) == []


def test_the_buffer_survives_json() -> None:
    buf = _buffer()
    a, b = _rec("petition", 10, "a"), _rec("petition", 50, "b")
    buf.saw([a, b])
    buf(a, _warning(1, 10), _firing("plain", 10))
    buf(b, _warning(2, 50), _firing("plain", 50))
    buf(b, _warning(3, 5), _firing("absent", 5))
    buf.release(upto_clock(T0 + timedelta(minutes=20)))
    again = _buffer()
    again.load_json(json.loads(json.dumps(buf.to_json())))
    assert (again.released, again.late, len(again)) == (buf.released, 0, 1)
    again(b, _warning(4, 50), _firing("plain", 50))
    assert _ids(again.release(upto_clock(T0 + timedelta(hours=1)))) == ["@b", "w-2", "w-4"]


def test_an_evaluator_hands_its_chained_warnings_to_on_chain_and_takes_them_back_in_order() -> None:
    book = load_rulebook()
    petitions = SubRulebook(tuple(r for r in book.rules if r.id == "collective-petition"), book.version)
    clusters = SubRulebook(tuple(r for r in book.rules if r.id == "street-cluster"), book.version)
    got: list[tuple[Record, Record, Firing]] = []
    producer = Evaluator(petitions, on_chain=lambda *x: got.append(x))
    consumer = Evaluator(clusters)
    try:
        records = [_rec("petition", m, f"p{m}", people=6, subject="征地补偿", person="p1") for m in (0, 1, 2)]
        producer.feed(records)
        assert [(t.id, w.attributes["rule"], f.rule) for t, w, f in got] == [
            ("p0", "collective-petition", "collective-petition")]  # opened once; the two others update it
        warnings = [_warning(n, 5) for n in range(3)]
        # given out of (at, source, id) order on purpose: in_order keeps them as given, feed sorts them
        changes = consumer.feed([warnings[2], warnings[0], warnings[1]], in_order=True)
        assert [w.records[-1] for w, _ in changes] == ["fenghuo/w-1"]
    finally:
        producer.close()
        consumer.close()
