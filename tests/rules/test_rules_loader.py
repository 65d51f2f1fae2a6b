"""Safe YAML, calendars, templates, chaining and the rulebook loader (kinds lookup, version)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from rules.language.calendars import Calendars
from rules.language.chaining import find_cycles
from rules.language.diagnostics import RuleError
from rules.language.loader import load_rulebook
from rules.language.model import RuleFile
from rules.language.templates import TemplateError, render, template_fields
from rules.language.yaml_safe import YamlError, load_yaml
from tests.rules.rulebook_samples import GOOD

REPO = Path(__file__).resolve().parents[2]
RULEBOOK = REPO / "rules" / "catalog"
Write = Callable[[str, str], Path]


# -- safe YAML ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, "键 'a' 重复（首次出现在第 1 行）"),
        ("x: !!python/object/new:os.system [a]", 1, "不允许标签 '!!python/object/new:os.system'"),
        ("x: !include other.yaml\n", 1, "不允许标签 '!include'"),
        ("x: !!python/object:os.system {}\n", 1, "不允许标签 '!!python/object:os.system'"),
        ("x: !!binary aGk=\n", 1, "不允许标签 '!!binary'"),
        ("x: &a 1\ny: *a\n", 1, "不允许锚点（&name）"),
        ("x: {<<: {a: 1}}\n", 1, "不允许合并键（<<）"),
        ("x: [1\n", 2, "YAML 格式错误：方括号 […] 没有闭合，或其中两项之间缺少逗号"),
        ("a: 1\n---\nb: 2\n", 2, "YAML 格式错误：一个文件只能有一个 YAML 文档（多了 ---）"),
        ("a:\n\t- b\n", 2, "YAML 格式错误：不能用 Tab 缩进或对齐，请改用空格"),
        ("a: {b: 1\n", 2, "YAML 格式错误：花括号 {…} 没有闭合"),
        ("a: b: c\n", 1, "YAML 格式错误：此处不能有冒号"),
        ('a: "abc\n', 2, "YAML 格式错误：引号没有闭合"),
        ("a:\n  - b\n - c\n", 3, "YAML 格式错误：缩进不一致"),
        ("a: b\nc\n", 3, "YAML 格式错误：缺少冒号"),
    ],
)
def test_unsafe_or_bad_yaml(text: str, line: int, message: str) -> None:
    with pytest.raises(YamlError) as info:
        load_yaml(text)
    assert info.value.line == line
    assert message in info.value.message


def test_a_yaml_problem_without_chinese_words_is_shown_as_pyyaml_wrote_it() -> None:
    from rules.language.yaml_safe import yaml_reason

    assert yaml_reason("found something new") == "found something new"


def test_python_tags_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for tag in ("python/object/apply:os.system", "python/object/new:os.system"):
        with pytest.raises(YamlError):
            load_yaml(f'x: !!{tag} ["touch {marker}"]\n')
    with pytest.raises(YamlError):
        load_yaml(f"x: !!python/name:os.system\ny: !!python/object/apply:exec [\"open('{marker}')\"]")
    assert not marker.exists()


def test_positions_are_recorded() -> None:
    data = load_yaml("a: 1\nb:\n  - x\n  - {c: 2}\n")
    assert data == {"a": 1, "b": ["x", {"c": 2}]}
    assert data.key_lines == {"a": 1, "b": 2}
    assert data["b"].item_lines == [3, 4]


# -- calendars ------------------------------------------------------------------------------------

SH = timezone(timedelta(hours=8))


def test_shipped_calendars() -> None:
    cal = Calendars.from_mapping(load_yaml((REPO / "rules" / "calendars.yaml").read_text(encoding="utf-8")))
    assert "spring-festival-run-up" in cal.periods_at(datetime(2026, 2, 16, 23, 59, tzinfo=SH))
    assert "spring-festival-run-up" not in cal.periods_at(datetime(2026, 2, 17, 0, 0, tzinfo=SH))
    assert "spring-festival-run-up" in cal.periods_at(datetime(2027, 1, 6, 0, 0, tzinfo=SH))
    # 2026-01-16 17:00 UTC is already 2026-01-17 in Shanghai: the run-up has begun.
    assert "spring-festival-run-up" in cal.periods_at(datetime(2026, 1, 16, 17, 0, tzinfo=UTC))
    assert cal.periods_at(datetime(2026, 1, 16, 15, 59, tzinfo=UTC)) == ()
    assert cal.periods_at(datetime(2026, 10, 3, tzinfo=SH)) == ("national-day",)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.periods_at(datetime(2026, 1, 1))


def test_overlapping_periods_are_sorted() -> None:
    cal = Calendars.from_mapping({"b": [{"from": date(2026, 1, 1), "to": date(2026, 1, 31)}],
                                  "a": [{"from": date(2026, 1, 10), "to": date(2026, 1, 10)}]})
    assert cal.periods_at(datetime(2026, 1, 10, 12, tzinfo=SH)) == ("a", "b")


def test_bad_calendar(write: Write) -> None:
    write("good.yaml", GOOD)
    cal = write("calendars.yaml", "sales:\n  - {from: 2026-02-01, to: 2026-01-01}\n")
    book = load_rulebook(cal.parent, rulebook=RULEBOOK)
    assert [str(e) for e in book.errors] == [
        f"{cal}:2: 时段 'sales'：范围的结束（2026-01-01）早于开始（2026-02-01）",
        # the rules of good.yaml name a period the broken calendar does not provide
        f"{cal.parent / 'good.yaml'}:21: 未知的时段 'spring-festival-run-up'",
    ]


# -- templates ------------------------------------------------------------------------------------


def test_templates() -> None:
    assert template_fields("{people} 人：{subject} {amount:.0f}") == ["people", "subject", "amount"]
    for bad in ("{x.y}", "{x[0]}", "{x!r}", "{}", "{0}", "{x:{y}}", "{x"):
        with pytest.raises(TemplateError):
            template_fields(bad)
    assert render("{people} 人：{subject}", {"people": 5}) == "5 人：?"
    assert render("{amount:.0f} 元", {"amount": 1234.5}) == "1234 元"
    assert render("{amount:.0f} 元", {"amount": "n/a"}) == "n/a 元"


# -- chaining -------------------------------------------------------------------------------------


def _rules(text: str) -> RuleFile:
    return RuleFile.model_validate(load_yaml(text))


def test_rule_and_level_conditions_break_chains() -> None:
    rf = _rules(
        """
ruleset: c
rules:
  - {id: base, record: petition, level: yellow}
  - id: by-rule
    record: warning
    where: {rule: {in: [base]}}
    level: orange
  - id: by-level
    record: warning
    where: {level: {eq: orange}}
    level: red
  - id: by-regex
    record: warning
    where: {rule: {matches: "ba.*"}}
    level: red
"""
    )
    assert find_cycles(rf.rules) == []


def test_conditions_inside_any_do_not_count_as_exclusions() -> None:
    rf = _rules(
        """
ruleset: c
rules:
  - id: loop
    record: warning
    where: {any: [{rule: {ne: loop}}]}
    level: red
"""
    )
    assert find_cycles(rf.rules) == [["loop"]]


# -- loader ---------------------------------------------------------------------------------------


def test_rule_error_format() -> None:
    assert str(RuleError("rules/catalog/x.yaml", 12, "unknown field 'peple'")) == (
        "rules/catalog/x.yaml:12: unknown field 'peple'"
    )


def test_shipped_rulebook_loads() -> None:
    book = load_rulebook(rulebook=RULEBOOK)
    assert book.errors == ()
    assert len(book.files) == 9
    assert "petition" in book.kinds.kinds
    assert "spring-festival-run-up" in book.calendars.names
    ids = [r.id for r in book.rules]
    assert len(ids) == len(set(ids))
    assert book.rule("collective-petition").title == "集体访"


def test_every_shipped_rule_has_positive_and_negative_tests() -> None:
    book = load_rulebook(rulebook=RULEBOOK)
    for rule_file in book.files.values():
        expected = {e.get("rule") for case in rule_file.tests for e in case.expect}
        assert {r.id for r in rule_file.rules} <= expected, rule_file.file
        assert any(not case.expect for case in rule_file.tests), rule_file.file


def test_version_is_content_hash(write: Write, tmp_path: Path) -> None:
    path = write("a/good.yaml", GOOD)
    first = load_rulebook(path, rulebook=RULEBOOK).version
    assert len(first) == 64
    # Comments, key order and layout do not change the version; content does.
    write("b/good.yaml", "# a comment\n" + GOOD)
    assert load_rulebook(tmp_path / "b", rulebook=RULEBOOK).version == first
    write("c/good.yaml", GOOD.replace("gte: 5}", "gte: 6}"))
    assert load_rulebook(tmp_path / "c", rulebook=RULEBOOK).version != first


def test_kinds_and_calendars_from_the_path_folder_win(write: Write) -> None:
    rules = write(
        "rules.yaml",
        "ruleset: x\nrules:\n  - id: a\n    record: permit\n"
        "    where: {periods: {contains: fair}}\n    level: blue\n",
    )
    write("kinds.yaml", "kinds:\n  permit:\n    fields: {holder: string}\n")
    write("calendars.yaml", "fair:\n  - {from: 2026-05-01, to: 2026-05-03}\n")
    book = load_rulebook(rules, rulebook=RULEBOOK)
    assert book.errors == ()
    assert set(book.kinds.kinds) == {"permit"}
    assert book.calendars.names == {"fair"}
    assert book.checked == (str(rules),)


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    book = load_rulebook(tmp_path / "nope.yaml", rulebook=RULEBOOK)
    assert [str(e) for e in book.errors] == [f"{tmp_path / 'nope.yaml'}:1: 没有这个文件或文件夹"]
