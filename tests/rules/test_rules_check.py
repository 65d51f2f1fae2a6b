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


def test_cycle_through_two_files(write: Write, check: Check) -> None:
    first = write(
        "street.yaml",
        """
        ruleset: street
        rules:
          - id: street-cluster
            record: warning
            where: {rule: {ne: street-cluster}}
            window: {within: 7d, by: [street], aggregate: count}
            levels: [{level: orange, when: {count: {gte: 3}}}]
        """,
    )
    second = write(
        "district.yaml",
        """
        ruleset: district
        rules:
          - id: district-cluster
            record: warning
            where: {level: {in: [orange, red]}}
            window: {within: 7d, by: [district], aggregate: count}
            level: red
        """,
    )
    assert check(first.parent).lines() == [
        f"{second}:3: 规则 'district-cluster' 可能经由 "
        "district-cluster → street-cluster → district-cluster 消费它自己的预警；请用 rule 或 level 条件排除",
        f"{first}:3: 规则 'street-cluster' 可能经由 "
        "district-cluster → street-cluster → district-cluster 消费它自己的预警；请用 rule 或 level 条件排除",
    ]


def test_self_cycle_and_its_fix(write: Write, check: Check) -> None:
    path = write(
        "self.yaml",
        """
        ruleset: self
        rules:
          - id: any-warning
            record: warning
            level: blue
        """,
    )
    assert check(path).lines() == [
        f"{path}:3: 规则 'any-warning' 可能消费它自己的预警；请排除，例如 rule: {{ne: any-warning}}"
    ]
    fixed = write(
        "self.yaml",
        """
        ruleset: self
        rules:
          - id: any-warning
            record: warning
            where: {level: {in: [orange, red]}}
            level: blue
        """,
    )
    assert check(fixed).lines() == []  # it emits only blue, and takes only orange and red


def test_unknown_template_field(write: Write, check: Check) -> None:
    path = write(
        "tpl.yaml",
        """
        ruleset: tpl
        rules:
          - id: a
            record: petition
            level: yellow
            summary: "{people} 人：{subjet}"
          - id: b
            record: petition
            level: yellow
            summary: "{people.__class__}"
          - id: c
            record: hotline
            window: {within: 24h, by: [community], aggregate: count}
            levels: [{level: blue, when: {count: {gte: 10}}}]
            summary: "{count} 次 {sum}"
        """,
    )
    assert check(path).lines() == [
        f"{path}:6: summary 中的字段 'subjet' 不存在；是否应为 'subject'？",
        f"{path}:10: summary：'{{people.__class__}}'：只允许普通字段名（不能取属性或下标）",
        f"{path}:15: summary 中的字段 'sum' 不存在",
    ]


def test_overlong_and_unsupported_regex(write: Write, check: Check) -> None:
    long = "a" * 201
    path = write(
        "re.yaml",
        f"""
        ruleset: re
        rules:
          - id: a
            record: hotline
            where:
              descriptor: {{matches: "{long}"}}
            level: blue
          - id: b
            record: hotline
            where:
              descriptor: {{matches: "(?=噪音).*"}}
            level: blue
        """,
    )
    assert check(path).lines() == [
        f"{path}:6: 正则表达式长 201 个字符；上限为 200",
        f"{path}:11: 只支持普通的 (...) 和 (?:...) 分组（正则 '(?=噪音).*' 的第 2 个字符处）",
    ]


def test_python_tag_is_rejected_and_runs_nothing(write: Write, check: Check, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write(
        "evil.yaml",
        f"""
        ruleset: evil
        rules:
          - id: a
            record: petition
            title: !!python/object/apply:os.system ["touch {marker}"]
            level: yellow
        """,
    )
    assert check(path).lines() == [
        f"{path}:5: 不允许标签 '!!python/object/apply:os.system'；规则文件只含普通数据"
    ]
    assert not marker.exists()


def test_other_files_are_still_checked_and_loaded(write: Write, check: Check) -> None:
    write("a-good.yaml", GOOD)
    bad = write("b-bad.yaml", "ruleset: bad\nrules:\n  - id: x\n    record: nope\n    level: blue\n")
    worse = write("c-worse.yaml", "ruleset: [unclosed\n")
    result = check(bad.parent)
    assert result.lines() == [
        f"{bad}:4: 未知的记录类型 'nope'",
        f"{worse}:2: YAML 格式错误：expected ',' or ']', but got '<stream end>'",
    ]
    assert result.files == 3
    assert {r.id for r in result.rulebook.rules} == {"collective-petition", "noise-spike"}


def test_a_file_with_rules_but_no_ruleset_is_an_error(write: Write, check: Check) -> None:
    path = write("noset.yaml", "rules:\n  - id: x\n    record: petition\n    level: blue\n")
    assert check(path).lines() == [f"{path}:1: 规则文件需要顶层的 'ruleset'"]


def test_data_files_are_not_rule_files(write: Write, check: Check) -> None:
    write("good.yaml", GOOD)
    data = write("regions.yaml", "regions: {'510104001001': 春熙路社区}\n")
    result = check(data.parent)
    assert result.ok and result.rules == 2 and result.files == 2


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
        f"{path}:8: rules.1.group_by：应为列表，例如 [street]",
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
    assert f"{path}:8: rules.1.group_by: expected a list, e.g. [street]" in english
    assert f"{path}:25: missing key 'expect'" in english
    assert f"{path}:25: unknown key 'nam'; did you mean 'name'?" in english


def test_hidden_folders_are_not_searched(write: Write, check: Check) -> None:
    write("good.yaml", GOOD)
    write(".venv/lib/broken.yaml", "ruleset: [\n")
    result = check(write("x.yaml", "a: 1\n").parent)
    assert result.ok and result.files == 2
