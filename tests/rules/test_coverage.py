"""Test coverage of a rulebook (language 1.1): per rule, the levels some test expects."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rules.language.loader import load_rulebook
from rules.run.coverage import ANY_LEVEL, coverage
from tests.rules.conftest import RULEBOOK

Write = Callable[[str, str], Path]

TWO_RULES = """
ruleset: cov
rules:
  - id: big
    title: 大规模
    record: petition
    levels:
      - {level: yellow, when: {people: {gte: 5}}}
      - {level: orange, when: {people: {gte: 50}}}
  - id: untested
    record: hotline
    level: blue
tests:
  - name: five
    records:
      - {kind: petition, at: "2026-01-05T09:00:00+08:00", region: "510104001001", people: 5}
    expect:
      - {rule: big, level: yellow}
  - name: quiet
    records: []
    expect: []
"""


def test_levels_expected_per_rule_and_the_untested(write: Write) -> None:
    book = load_rulebook(write("cov.yaml", TWO_RULES), rulebook=RULEBOOK)
    big, untested = coverage(book)
    assert (big.rule.id, big.expected, big.untested, big.covered) == ("big", ("yellow",), ("orange",), True)
    assert big.name == "big（大规模）" and big.where.endswith("cov.yaml:3")
    assert (untested.rule.id, untested.expected, untested.covered) == ("untested", (), False)


def test_an_entry_without_rule_counts_for_the_one_rule_of_its_file_that_can_emit_it(write: Write) -> None:
    text = TWO_RULES.replace("{rule: big, level: yellow}", "{level: orange}").replace(
        "expect: []", "expect: [{rule: untested}]")
    book = load_rulebook(write("cov.yaml", text), rulebook=RULEBOOK)
    big, untested = coverage(book)
    assert big.expected == ("orange",) and untested.expected == (ANY_LEVEL,)


def test_a_test_in_another_file_covers_the_rule_it_names(write: Write) -> None:
    rules = write("a.yaml", TWO_RULES.split("tests:")[0])
    write("b.yaml", "ruleset: other\ntests:\n  - name: t\n    records: []\n    expect: [{rule: big, level: orange}]\n")
    book = load_rulebook(rules.parent, rulebook=RULEBOOK)
    assert {c.rule.id: c.expected for c in coverage(book)} == {"big": ("orange",), "untested": ()}


def test_the_catalog_is_covered() -> None:
    book = load_rulebook(RULEBOOK, rulebook=RULEBOOK)
    assert [c.rule.id for c in coverage(book) if not c.covered] == []
