"""The typed AST: shorthand normalised, durations and timestamps parsed, positions kept."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from domain.warnings import Level
from rules.language.model import (
    AnyOf,
    Condition,
    FieldTest,
    LanguageError,
    NotOf,
    Op,
    Rule,
    RuleFile,
    parse_condition,
    parse_duration,
)
from rules.language.yaml_safe import load_yaml
from tests.rules.rulebook_samples import GOOD


def _file(text: str) -> RuleFile:
    return RuleFile.model_validate(load_yaml(text), context={"file": "f.yaml"})


def test_good_file_parses_with_positions() -> None:
    rf = _file(GOOD)
    assert rf.ruleset == "petitions"
    collective, spike = rf.rules
    assert (collective.file, collective.line, collective.lines["id"]) == ("f.yaml", 3, 3)
    assert collective.kind == "simple"
    assert [s.level for s in collective.levels] == [Level.yellow, Level.orange, Level.red]
    assert collective.levels[0].when is None
    assert collective.fingerprint_fields == ("street",)
    people, at = collective.where.terms
    assert isinstance(people, FieldTest)
    assert (people.field, people.op, people.value, people.line) == ("people", Op.gte, 5, 7)
    assert isinstance(at, FieldTest)
    assert at.value == datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8)))
    assert spike.kind == "window"
    assert spike.window is not None
    assert spike.window.within == timedelta(hours=24)
    assert spike.window.by == ("community",)
    assert (spike.window.aggregate.kind, spike.window.aggregate.field, spike.window.aggregate.name) == (
        "count",
        None,
        "count",
    )
    assert spike.fingerprint_fields == ("community",)
    [case] = rf.tests
    assert case.records[0]["people"] == 5
    assert case.expect == [{"rule": "collective-petition", "level": "yellow"}]
    assert case.record_lines == (26,)


def test_level_shorthand_and_rule_kinds() -> None:
    rf = _file(
        """
ruleset: kinds
rules:
  - id: seq
    sequence:
      - {record: dispute, where: {status: {ne: resolved}}}
      - {record: petition}
    join: [person]
    within: 7d
    level: orange
  - id: gone
    absence:
      after: {record: care_visit_due}
      missing: {record: care_visit}
    join: [person]
    within: 72h
    level: yellow
  - id: total
    record: dispute
    window: {within: 30d, by: [district], aggregate: {sum: amount}}
    level: blue
"""
    )
    seq, gone, total = rf.rules
    assert seq.kind == "sequence" and seq.within == timedelta(days=7)
    assert [s.record for s in seq.steps] == ["dispute", "petition"]
    assert seq.firing_record == "petition"
    assert seq.fingerprint_fields == ("person",)
    assert [(s.level, s.when) for s in seq.levels] == [(Level.orange, None)]
    assert gone.kind == "absence" and gone.within == timedelta(hours=72)
    assert gone.absence is not None and gone.absence.missing.record == "care_visit"
    assert gone.firing_record == "care_visit_due"
    assert total.window is not None
    assert (total.window.aggregate.kind, total.window.aggregate.field) == ("sum", "amount")
    assert total.emits == frozenset({Level.blue})


def test_condition_nodes_any_not_and_several_operators() -> None:
    cond = parse_condition(
        load_yaml("people: {gte: 5, lt: 50}\nany:\n  - {channel: {eq: visit}}\n  - not: {status: {in: [a]}}"),
        "f.yaml",
    )
    assert isinstance(cond, Condition)
    gte, lt, anyof = cond.terms
    assert isinstance(gte, FieldTest) and isinstance(lt, FieldTest)
    assert (gte.op, lt.op, gte.line) == (Op.gte, Op.lt, 1)
    assert isinstance(anyof, AnyOf) and anyof.line == 2
    _first, second = anyof.options
    assert isinstance(second.terms[0], NotOf)
    assert [t.field for t in cond.walk()] == ["people", "people", "channel", "status"]


def test_empty_condition_always_holds_shape() -> None:
    assert parse_condition(None).terms == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90m", timedelta(minutes=90)), ("7d", timedelta(days=7)), ("24h", timedelta(hours=24)),
     ("30s", timedelta(seconds=30))],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["0d", "7 days", "1w", "-5m", "", "5"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(LanguageError, match="时长须为正数"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("cond", "message"),
    [
        ("at: {gte: '2026-01-01T00:00:00'}", "须带时区"),
        ("at: {gte: 2026-01-01}", "须带时刻和时区"),
        ("people: {in: 5}", "'in' 须为值的列表"),
        ("people: {exists: yes please}", "'exists' 须为 true 或 false"),
        ("people: {gte: many}", "'gte' 只能与数值或时间比较"),
        ("people: 5", "须为运算符映射"),
        ("people: {eqq: 5}", "未知的运算符 'eqq'；是否应为 'eq'？"),
        ("any: []", "'any' 须为非空的条件列表"),
    ],
)
def test_bad_conditions(cond: str, message: str) -> None:
    with pytest.raises(LanguageError, match=message):
        parse_condition(load_yaml(cond))


def test_structural_errors_carry_lines() -> None:
    head = "rules:\n  - id: a\n"
    cases = {
        "rules:\n  - id: Bad_Id\n    record: petition\n    level: blue\n": (3, "规则 id 须符合"),
        head + "    level: blue\n": (3, "须有且只有 record、sequence、absence 之一（一个也没有）"),
        head + "    record: petition\n    within: 7d\n    level: blue\n": (5, "'within' 只能与 sequence 或 absence"),
        head + "    record: petition\n": (3, "需要 'level' 或非空的 'levels' 列表"),
        head + "    record: petition\n    level: blue\n    levels: [{level: red}]\n": (5, "不要两者都写"),
        head + "    sequence: [{record: petition}]\n    join: [person]\n    within: 1d\n    level: blue\n": (
            4,
            "至少需要两个步骤",
        ),
    }
    for body, (line, message) in cases.items():
        with pytest.raises(ValidationError) as info:
            _file("ruleset: x\n" + body)
        error = info.value.errors()[0]["ctx"]["error"]
        assert isinstance(error, LanguageError)
        assert (error.line, message in error.message) == (line, True), (body, error.message)


def test_author_cannot_set_positions() -> None:
    with pytest.raises(ValidationError, match="未知的键 'line'"):
        _file("ruleset: x\nrules:\n  - id: a\n    record: petition\n    level: blue\n    line: 99\n")


def test_models_are_frozen_and_buildable_by_hand() -> None:
    raw = {"id": "a", "record": "petition", "where": {"people": {"gte": 5}}, "level": "red"}
    rule = Rule.model_validate(raw)
    assert rule.where.terms[0] == FieldTest(field="people", op=Op.gte, value=5)
    with pytest.raises(ValidationError):
        rule.id = "b"  # type: ignore[misc]
