"""`rules check` on what reaches across files and what must never run: cycles, templates, regular
expressions, YAML tags, files that are not rule files (docs/rules-language.md#safety)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rules.language.check import CheckResult
from tests.rules.rulebook_samples import GOOD

Write = Callable[[str, str], Path]
Check = Callable[..., CheckResult]



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
        f"{worse}:2: YAML 格式错误：方括号 […] 没有闭合，或其中两项之间缺少逗号",
    ]
    assert result.files == 3
    assert {r.id for r in result.rulebook.rules} == {"collective-petition", "noise-spike"}


def test_a_file_with_rules_but_no_ruleset_is_an_error(write: Write, check: Check) -> None:
    path = write("noset.yaml", "rules:\n  - id: x\n    record: petition\n    level: blue\n")
    assert check(path).lines() == [f"{path}:1: 规则文件需要顶层的 'ruleset'"]


def test_rules_listed_without_their_ruleset_are_an_error_even_in_a_folder(write: Write, check: Check) -> None:
    write("good.yaml", GOOD)
    listed = write("listed.yaml", "- id: x\n  record: petition\n  level: blue\n")
    result = check(listed.parent)
    assert result.lines() == [f"{listed}:1: 这里是一列规则，但规则文件须写成 ruleset: 名称，规则列在 rules: 之下"]
    assert result.rules == 2  # the good file still loads


def test_a_file_named_as_rules_that_holds_none_is_an_error(write: Write, check: Check) -> None:
    for name, text in (("empty.yaml", ""), ("text.yaml", "just a note\n"), ("data.yaml", "regions: {}\n")):
        path = write(name, text)
        assert check(path).lines() == [f"{path}:1: 不是规则文件：须有顶层的 ruleset: 与 rules:"], name


def test_data_files_are_not_rule_files(write: Write, check: Check) -> None:
    write("good.yaml", GOOD)
    data = write("regions.yaml", "regions: {'510104001001': 春熙路社区}\n")
    result = check(data.parent)
    assert result.ok and result.rules == 2 and result.files == 2
