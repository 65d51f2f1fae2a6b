"""The fast JSON-lines path (rules.run.fast_records) against the reference (json + pydantic): the same
records accepted, equal field by field, and the same error for every rejected line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.kinds import RecordKinds
from rules.run.backtest import JsonlLineError, parse_jsonl, reference_line
from rules.run.fast_records import FastLines

KINDS = RecordKinds.from_mapping({"kinds": {
    "petition": {"fields": {"person": {"type": "string", "max_length": 8},
                            "people": {"type": "int", "min": 0, "max": 100},
                            "channel": {"type": "string", "values": ["visit", "letter"]}}},
    "dispute": {"fields": {"amount": {"type": "number", "min": -5, "max": 1e6}, "open": "bool", "tags": "list",
                           "due": "timestamp", "status": "string"}},
}})
SHIPPED = RecordKinds.load(Path(__file__).resolve().parents[2] / "rules" / "kinds.yaml")

_FIELDS = ["person", "people", "channel", "amount", "open", "tags", "due", "status", "undeclared"]
_values = st.one_of(
    st.sampled_from(["visit", "letter", "phone", "p-1", "", "很长的名字超过八个字符了", "a\x00b", "\ud800", "1",
                     "2.5"]),
    st.integers(-10, 200), st.sampled_from([2**70, -(2**63) - 1, 2**64, 10**400 // 10**380, 1e19]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1.0, 3.0]),
    st.booleans(), st.none(), st.lists(st.sampled_from(["a", 1, "\x00", 2**64]), max_size=3),
    st.sampled_from([{"a": 1}, {"a": [2**64]}]),
    st.sampled_from(["2026-01-05T09:00:00+08:00", "2026-01-05T09:00:00", "1800-01-01T00:00:00+00:00", "soon"]),
)
_at = st.one_of(
    st.datetimes(timezones=st.sampled_from([None])).map(lambda d: d.isoformat()),
    st.sampled_from(["2026-01-05T09:00:00+08:00", "2026-01-05T09:00:00.5+00:00", "2026-01-05 09:00Z",
                     "2026-01-05T09:00:00", "2026-01-05", "yesterday", "", "2026-13-01T00:00:00+08:00"]),
    st.integers(), st.none(),
)
_region = st.one_of(
    st.sampled_from(["510104001001", "510104001001001", "510104", "51010400100a", "510104001001\n",
                     "５１０１０４００１００１", " 510104001001", "", "510104000000"]),
    st.from_regex(r"\A\d{12}\Z"), st.integers(0, 10**15), st.none(),
)


_GOOD = {
    "person": st.sampled_from(["p-1", "p-2", "张三"]), "people": st.integers(0, 100),
    "channel": st.sampled_from(["visit", "letter"]), "amount": st.one_of(st.integers(-5, 10**6), st.floats(-5, 1e6)),
    "open": st.booleans(), "tags": st.lists(st.sampled_from(["a", "b"]), max_size=2),
    "due": st.just("2026-01-05T09:00:00+08:00"), "status": st.sampled_from(["open", "x"]),
    "category": st.sampled_from(["noise", "water"]), "type": st.sampled_from(["land", "wage_arrears"]),
    "injured": st.integers(0, 20),
}


def _mostly(draw: Any, good: Any, bad: Any) -> Any:
    return draw(bad) if draw(st.integers(0, 5)) == 0 else draw(good)


@st.composite
def lines(draw: Any) -> str:
    """A JSON line, mostly a good record, often wrong in one place or several."""
    data: dict[str, Any] = {}
    if draw(st.integers(0, 19)):
        data["kind"] = _mostly(draw, st.sampled_from(["petition", "dispute", "hotline", "incident", "other"]),
                               st.one_of(st.integers(), st.none()))
    if draw(st.integers(0, 19)):
        data["at"] = _mostly(draw, st.sampled_from(["2026-01-05T09:00:00+08:00", "2026-01-05T09:00:00.5+00:00",
                                                    "2026-01-05 09:00Z"]), _at)
    if draw(st.integers(0, 19)):
        data["region"] = _mostly(draw, st.sampled_from(["510104001001", "510104001001001", "510104000000"]), _region)
    for key in ("source", "id"):
        if draw(st.booleans()):
            data[key] = draw(st.one_of(st.text(max_size=4), st.integers(), st.none()))
    for name in draw(st.lists(st.sampled_from(sorted({*_FIELDS, *_GOOD})), max_size=4, unique=True)):
        data[name] = _mostly(draw, _GOOD.get(name, _values), _values)
    shape = draw(st.integers(0, 39))
    if shape == 0:
        return draw(st.text(max_size=12))
    if shape == 1:
        return json.dumps([data])
    text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    if shape == 2:
        return text[: draw(st.integers(0, len(text)))]
    return text + draw(st.sampled_from(["", "\n", " \r\n", "\t"]))


def _outcome(parse: Any) -> tuple[Any, ...]:
    try:
        record = parse()
    except JsonlLineError as exc:
        return ("error", exc.line, exc.reason)
    if record is None:
        return ("blank",)
    attrs = {k: (type(v).__name__, repr(v)) for k, v in record.attributes.items()}
    return ("record", record.model_dump(), record.at.isoformat(), repr(record.at.tzinfo), attrs,
            record.model_fields_set, record)


_SHARED = {id(KINDS): FastLines(KINDS), id(SHIPPED): FastLines(SHIPPED)}
"""One fast parser per kinds across all examples: what it remembers from one line must not change another's."""


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=lines(), kinds=st.sampled_from([KINDS, SHIPPED, None]), number=st.integers(1, 10**6))
def test_fast_path_equals_the_reference(line: str, kinds: RecordKinds | None, number: int) -> None:
    fast = _SHARED[id(kinds)] if kinds is not None else FastLines(None)
    want = _outcome(lambda: reference_line(line, number, kinds))
    got = fast.record(line, number)
    if got is not None:  # the fast path vouched for it: the reference accepts the same record
        assert _outcome(lambda: got) == want
    # parse_jsonl (fast, then reference) as a whole: the reference's outcome, at the line's own number
    lines_in = ["\n"] * (number % 3) + [line]
    whole = _outcome(lambda: next(iter(parse_jsonl(lines_in, kinds)), None))
    shifted = _outcome(lambda: reference_line(line, len(lines_in), kinds))
    assert whole == shifted


def test_the_fast_path_answers_plain_lines_itself() -> None:
    fast = FastLines(SHIPPED)
    rows = [
        {"kind": "dispute", "id": "d1", "at": "2026-01-01T00:00:00+00:00", "region": "510104001001",
         "person": "p-1", "type": "wage_arrears", "people": 3, "amount": 1500, "status": "open"},
        {"kind": "hotline", "at": "2026-01-01T00:00:01+08:00", "region": "510104001001001", "category": "noise"},
        {"kind": "unknown", "at": "2026-01-01T00:00:01+08:00", "region": "510104001001", "x": [1, None]},
    ]
    for i, row in enumerate(rows * 2, 1):  # twice: remembered regions and values give the same records
        line = json.dumps(row, ensure_ascii=False)
        got = fast.record(line, i)
        assert got is not None, line
        assert _outcome(lambda got=got: got) == _outcome(lambda line=line, i=i: reference_line(line, i, SHIPPED))
    again = fast.record(json.dumps({**rows[0], "amount": 1500.5}), 1)
    assert again is not None and again.attributes["amount"] == 1500.5
    moved = again.model_copy(update={"late": True})  # as the live path marks a late record
    assert moved.model_fields_set == again.model_fields_set | {"late"}
    assert again.model_fields_set == got.model_fields_set == {"kind", "source", "id", "at", "region", "attributes"}


def test_the_fast_path_leaves_bad_lines_to_the_reference() -> None:
    fast = FastLines(SHIPPED)
    good = {"kind": "dispute", "at": "2026-01-01T00:00:00+00:00", "region": "510104001001", "type": "land"}
    for bad in ({**good, "type": "moon"}, {**good, "region": 510104001001}, {**good, "at": "2026-01-01T00:00:00"},
                {**good, "undeclared": 1}, {**good, "amount": -1}):
        assert fast.record(json.dumps(bad), 1) is None
    assert fast.record("   ", 1) is None
    assert fast.record('{"kind": "dispute", "at": NaN}', 1) is None


def test_odd_but_good_lines_give_the_reference_record() -> None:
    """Duplicate keys (the last wins in both), escapes, a big integer for an unknown kind's field."""
    fast = FastLines(SHIPPED)
    for line in ('{"kind": "hotline", "kind": "dispute", "at": "2026-01-01T00:00:00+08:00", "region": "510104001001",'
                 ' "type": "land", "type": "labour"}',
                 '{"kind": "hotline", "at": "2026-01-01T00:00:00+08:00", "region": "510104001001", '
                 '"person": "\\u5f20"}',
                 '{"kind": "unknown", "at": "2026-01-01T00:00:00+08:00", "region": "510104001001", "n": 1e3}'):
        want = _outcome(lambda line=line: reference_line(line, 3, SHIPPED))
        got = fast.record(line, 3)
        assert got is not None and _outcome(lambda got=got: got) == want


def test_parse_jsonl_yields_the_good_lines_before_a_bad_one_and_leaves_gc_on() -> None:
    import gc

    import pytest

    good = '{"kind": "hotline", "at": "2026-01-01T00:00:00+08:00", "region": "510104001001"}'
    got = []
    with pytest.raises(JsonlLineError) as err:
        for record in parse_jsonl([good, "", good, '{"kind": "hotline"}', good], SHIPPED):
            assert gc.isenabled()  # paused only while a block is read, never while the caller runs
            got.append(record.id)
    assert got == ["1", "3"] and err.value.line == 4
    assert gc.isenabled()
