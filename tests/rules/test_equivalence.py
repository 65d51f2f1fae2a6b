"""DurableEngine and ReferenceEngine give identical warnings on random rulebooks and record streams —
the durable side also restored from a JSON snapshot between batches (window rules with and without a
baseline, whose history travels in the snapshot)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.engine.evaluate import Evaluator
from tests.rules.engine_helpers import CHAIN_RULE, book, rec

WORDS = ["a", "b", "ab", "征地", "a\"b"]
PATTERNS = ["a.*", ".*b", "[ab]", "征.*", "a?b", "\\w+", "a.b",
            # durable_rules cannot be trusted with these: both engines evaluate them in Python
            "[^a]+", ".*[^b]", "(a?)+b*", "(a+|b){1,3}", "[一-龥]+", "\\d{1,3}.+\\.{1,3}/"]
CAL = {"p1": [{"from": date(2026, 1, 5), "to": date(2026, 1, 6)}],
       "p2": [{"from": date(2026, 1, 6), "to": date(2026, 1, 8)}]}
INT = st.integers(0, 10)
TEXT = st.sampled_from(WORDS)


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    ordered = st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"])
    sets = st.sampled_from(["in", "not_in"])
    return st.one_of(
        st.builds(lambda op, v: {"people": {op: v}}, ordered, INT),
        st.builds(lambda op, v: {"people": {op: v}}, sets, st.lists(INT, max_size=3)),
        st.builds(lambda op, v: {"subject": {op: v}}, st.sampled_from(["eq", "ne"]), TEXT),
        st.builds(lambda op, v: {"subject": {op: v}}, sets, st.lists(TEXT, max_size=2)),
        st.builds(lambda v: {"subject": {"matches": v}}, st.sampled_from(PATTERNS)),
        st.builds(lambda f, v: {f: {"exists": v}}, st.sampled_from(["people", "subject", "person"]), st.booleans()),
        st.builds(lambda v: {"periods": {"contains": v}}, st.sampled_from(["p1", "p2"])),
        st.builds(lambda op, h: {"at": {op: f"2026-01-0{5 + h // 24}T{h % 24:02d}:00:00+08:00"}},
                  st.sampled_from(["gte", "lt"]), st.integers(0, 70)),
    )


def _cond(depth: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    if depth == 0:
        return _leaf()
    inner = _cond(depth - 1)
    return st.one_of(
        _leaf(),
        st.builds(lambda a, b: {**a, **b}, _leaf(), _leaf()),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    )


BASELINE_NAMES = ["expected", "spread", "ratio", "zscore"]


def _baseline_leaf() -> st.SearchStrategy[dict[str, Any]]:
    """A test of a baseline's name against a number (negative and fractional ones included)."""
    ordered = st.sampled_from(["gt", "gte", "lt", "lte", "eq"])
    value = st.sampled_from([-1, -0.5, 0, 0.5, 1, 1.5, 2, 3])
    return st.builds(lambda n, op, v: {n: {op: v}}, st.sampled_from(BASELINE_NAMES), ordered, value)


@st.composite
def rules(draw: st.DrawFn) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["simple", "window", "sequence", "absence"]))
        rid = f"r{i}"
        if kind == "simple":
            out.append({"id": rid, "record": "petition", "where": draw(_cond()),
                        "levels": [{"level": "blue"}, {"level": "orange", "when": draw(_cond(1))}]})
        elif kind == "window":
            agg = draw(st.sampled_from(["count", {"sum": "people"}, {"distinct": "person"}]))
            name = agg if isinstance(agg, str) else next(iter(agg))
            by = draw(st.sampled_from([["community"], ["person"], []]))
            rule: dict[str, Any] = {
                "id": rid, "record": "petition", "where": draw(_cond(1)),
                "window": {"within": draw(st.sampled_from(["30m", "2h", "1d"])), "by": by, "aggregate": agg},
                "levels": [{"level": "blue", "when": {name: {"gte": draw(st.integers(1, 4))}}},
                           {"level": "red", "when": {name: {"gte": 6}, "periods": {"contains": "p2"}}}]}
            if draw(st.booleans()):  # rule language 1.1: a baseline, its names tested beside the aggregate
                rule["baseline"] = {"samples": draw(st.integers(1, 4)),
                                    "every": draw(st.sampled_from(["20m", "1h", "5h", "1d"]))}
                rule["levels"].append({"level": draw(st.sampled_from(["yellow", "orange"])),
                                       "when": {**draw(_baseline_leaf()), **draw(_baseline_leaf())}})
            out.append(rule)
        elif kind == "sequence":
            out.append({"id": rid, "sequence": [{"record": "petition", "where": draw(_cond(1))},
                                                {"record": draw(st.sampled_from(["petition", "hotline"]))}],
                        "join": ["person"], "within": "3h",
                        "levels": [{"level": "yellow"}, {"level": "red", "when": draw(_cond(0))}]})
        else:
            out.append({"id": rid, "absence": {"after": {"record": "petition", "where": draw(_cond(1))},
                                               "missing": {"record": "hotline"}},
                        "join": ["person"], "within": "2h", "level": "yellow"})
    if draw(st.booleans()):
        out.append(CHAIN_RULE)
    return out


@st.composite
def records(draw: st.DrawFn) -> list[Any]:
    out = []
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(["petition", "petition", "hotline"]))
        attrs: dict[str, Any] = {}
        if draw(st.booleans()):
            attrs["person"] = draw(st.sampled_from(["p1", "p2"]))
        if kind == "petition":
            if draw(st.integers(0, 4)):
                attrs["people"] = draw(INT)
            if draw(st.booleans()):
                attrs["subject"] = draw(TEXT)
        region = draw(st.sampled_from(["510104001001", "510104001002", "510104002001"]))
        out.append(rec(kind, draw(st.integers(0, 4000)), region=region, **attrs))
    return out


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules(), records(), st.integers(1, 3))
def test_durable_equals_reference(rule_list: list[dict[str, Any]], recs: list[Any], parts: int) -> None:
    import yaml

    b = book(yaml.safe_dump(rule_list, allow_unicode=True), CAL)
    ref, dur = Evaluator(b, "reference"), Evaluator(b, "durable")
    try:
        recs = sorted(recs, key=lambda r: r.key)
        size = max(1, len(recs) // parts)
        for start in range(0, max(len(recs), 1), size):
            chunk = recs[start:start + size]
            assert dur.feed(chunk) == ref.feed(chunk)
            snapshot = json.loads(json.dumps(dur.snapshot()))
            dur.close()
            dur = Evaluator.restore(b, snapshot, engine="durable")
        assert dur.warnings() == ref.warnings()
    finally:
        dur.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules(), records(), st.sampled_from(["durable", "reference"]))
def test_firings_folded_without_their_words_change_nothing(rule_list: list[dict[str, Any]], recs: list[Any],
                                                           engine: str) -> None:
    """A firing that folds into an open warning at its level or higher is built without its explanation
    and summary (rules.engine.explain.firing, ``quiet``): the warnings equal those of an evaluator that
    builds every firing's words."""
    import yaml

    b = book(yaml.safe_dump(rule_list, allow_unicode=True), CAL)
    fast, full = Evaluator(b, engine), Evaluator(b, engine)
    full.engine.quiet = None  # every firing explained, as before the shortcut
    try:
        recs = sorted(recs, key=lambda r: r.key)
        assert fast.feed(recs) == full.feed(recs)
        assert fast.warnings() == full.warnings()
        assert fast.last_values == full.last_values
    finally:
        fast.close()
        full.close()
