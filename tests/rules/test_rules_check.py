"""`rules check`: every bad input of docs/rules-language.md#safety is one `FILE:LINE: message` line, other files
still load, and the shipped rulebook is clean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rules.language.check import CheckResult, check_paths
from tests.rules.rulebook_samples import GOOD

Write = Callable[[str, str], Path]
Check = Callable[..., CheckResult]


def test_good_file_has_no_errors(write: Write, check: Check) -> None:
    path = write("good.yaml", GOOD)
    result = check(path)
    assert result.lines() == []
    assert result.ok
    assert result.files == 1
    assert result.rules == 2
    assert result.summary() == "1 files, 2 rules, 0 errors"


def test_malformed_yaml(write: Write, check: Check) -> None:
    path = write(
        "broken.yaml",
        """
        ruleset: broken
        rules:
          - id: a
            record: petition
            where: {people: {gte: 5}
            level: yellow
        """,
    )
    [line] = check(path).lines()
    assert line.startswith(f"{path}:6: YAML 格式错误：")


def test_unknown_top_level_and_rule_keys(write: Write, check: Check) -> None:
    path = write(
        "keys.yaml",
        """
        ruleset: keys
        descripton: typo
        rules:
          - id: a
            record: petition
            wher: {people: {gte: 5}}
            level: yellow
        """,
    )
    assert check(path).lines() == [
        f"{path}:2: 未知的键 'descripton'；是否应为 'description'？",
        f"{path}:6: 未知的键 'wher'；是否应为 'where'？",
    ]


def test_unknown_field_with_suggestion(write: Write, check: Check) -> None:
    path = write(
        "field.yaml",
        """
        ruleset: field
        rules:
          - id: a
            record: petition
            where:
              subject: {eq: 征地}
              peple: {gte: 5}
            level: yellow
        """,
    )
    assert check(path).lines() == [
        f"{path}:7: petition 记录没有字段 'peple'；是否应为 'people'？"
    ]


def test_unknown_operator_with_suggestion(write: Write, check: Check) -> None:
    path = write(
        "op.yaml",
        """
        ruleset: op
        rules:
          - id: a
            record: petition
            where:
              people: {gtee: 5}
            level: yellow
        """,
    )
    assert check(path).lines() == [f"{path}:6: 未知的运算符 'gtee'；是否应为 'gte'？"]


def test_unknown_kind_with_suggestion(write: Write, check: Check) -> None:
    path = write(
        "kind.yaml",
        """
        ruleset: kind
        rules:
          - id: a
            title: x
            record: petiton
            level: yellow
        """,
    )
    assert check(path).lines() == [f"{path}:5: 未知的记录类型 'petiton'；是否应为 'petition'？"]


def test_unknown_kind_in_a_sequence_step(write: Write, check: Check) -> None:
    path = write(
        "seq.yaml",
        """
        ruleset: seq
        rules:
          - id: a
            sequence:
              - {record: dispute}
              - {record: petiton}
            join: [person]
            within: 7d
            level: orange
        """,
    )
    assert check(path).lines() == [f"{path}:6: 未知的记录类型 'petiton'；是否应为 'petition'？"]


def test_duplicate_rule_ids_across_files(write: Write, check: Check) -> None:
    first = write("a.yaml", GOOD)
    second = write(
        "b.yaml",
        """
        ruleset: other
        rules:
          - id: other-rule
            record: hotline
            level: blue
          - id: collective-petition
            record: petition
            level: red
        """,
    )
    result = check(first.parent)
    assert result.lines() == [f"{second}:6: 规则 id 'collective-petition' 重复（首次出现在 {first}:3）"]
    # The first file still loads; the second is left out whole.
    assert {r.id for r in result.rulebook.rules} == {"collective-petition", "noise-spike"}


def test_duplicate_rule_id_in_one_file(write: Write, check: Check) -> None:
    path = write(
        "dup.yaml",
        """
        ruleset: dup
        rules:
          - id: a
            record: petition
            level: yellow
          - id: a
            record: hotline
            level: blue
        """,
    )
    assert check(path).lines() == [f"{path}:6: 规则 id 'a' 重复（首次出现在第 3 行）"]


def test_duplicate_key_in_one_mapping(write: Write, check: Check) -> None:
    path = write(
        "dupkey.yaml",
        """
        ruleset: dupkey
        rules:
          - id: a
            record: petition
            where:
              people: {gte: 5}
              people: {gte: 50}
            level: yellow
        """,
    )
    assert check(path).lines() == [f"{path}:7: 键 'people' 重复（首次出现在第 6 行）"]


def test_default_rulebook_is_clean() -> None:
    result = check_paths(None)
    assert result.lines() == []
    assert result.rules >= 10


def test_one_pass_shows_errors_of_every_part(write: Write, check: Check, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        "odd.yaml",
        """
        ruleset: odd
        rules:
          - id: a
            record: petition
            level: yelow
          - id: b
            record: petition
            group_by: street
            level: blue
          - id: c
            record: hotline
            window: {within: 1d, by: [communty], aggregate: {sum: category}}
            levels: [{level: blue, when: {count: {gte: 3}}}]
          - id: d
            record: dispute
            where: {type: {in: [wage_arrear]}}
            level: blue
        tests:
          - name: t
            records:
              - {kind: petition, at: "2026-01-05T09:00:00", region: "510104001001"}
              - {kind: petition, at: "2026-01-05T09:00:00+08:00", region: "5101"}
              - {kind: petition, at: "2026-01-05T09:00:00+08:00", region: "510104001001", people: many}
            expect: [{rule: a, level: rd}]
          - nam: x
        """,
    )
    assert check(path).lines() == [
        f"{path}:5: 未知的等级 'yelow'；是否应为 'yellow'？",
        f"{path}:8: 规则 'b' 的 group_by：应为列表，例如 [street]",
        f"{path}:12: sum 须用数值字段；'category' 不是数值",
        f"{path}:12: 窗口字段 'communty' 不是 hotline 记录的字段；是否应为 'community'？",
        f"{path}:13: levels 中的未知字段 'count'：窗口规则的 levels 只能检验 'sum' 和 'periods'",
        f"{path}:16: type 不会是 'wage_arrear'；是否应为 'wage_arrears'？",
        f"{path}:19: 测试 't'：expect 中的未知等级 'rd'；是否应为 'red'？",
        f"{path}:21: 测试 't'：'at' 须带时区，例如 +08:00：'2026-01-05T09:00:00'",
        f"{path}:22: 测试 't'：地区代码须为 12 位数字（网格为 15 位），得到 '5101'",
        f"{path}:23: 测试 't'：people 须为整数，得到 'many'",
        f"{path}:25: 未知的键 'nam'；是否应为 'name'？",
        f"{path}:25: 缺少键 'expect'",
        f"{path}:25: 缺少键 'name'",
        f"{path}:25: 缺少键 'records'",
    ]
    # one language: the same errors in English through the catalogue, positions unchanged
    from integrations.i18n import translate
    from integrations.settings import get_settings

    monkeypatch.setenv("FENGHUO_LANG", "en")
    get_settings.cache_clear()
    english = [f"{e.file}:{e.line}: {translate(e.message)}" for e in sorted(check(path).errors)]
    assert f"{path}:5: unknown level 'yelow'; did you mean 'yellow'?" in english
    assert f"{path}:8: group_by of rule 'b': expected a list, e.g. [street]" in english
    assert f"{path}:25: missing key 'expect'" in english
    assert f"{path}:25: unknown key 'nam'; did you mean 'name'?" in english


def test_hidden_folders_are_not_searched(write: Write, check: Check) -> None:
    write("good.yaml", GOOD)
    write(".venv/lib/broken.yaml", "ruleset: [\n")
    result = check(write("x.yaml", "a: 1\n").parent)
    assert result.ok and result.files == 2
