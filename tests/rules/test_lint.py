"""`rules check` warnings (language 1.1): mistakes that load cleanly, as `FILE:LINE: warning: …` lines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.language.check import CheckResult
from rules.language.conditions_ast import parse_condition
from rules.language.lint import _implies

Write = Callable[[str, str], Path]
Check = Callable[..., CheckResult]

HEAD = """\
ruleset: lint
rules:
"""


def _warnings(write: Write, check: Check, body: str) -> list[str]:
    path = write("r.yaml", HEAD + body)
    result = check(path)
    assert result.errors == (), result.lines()
    return [line.removeprefix(f"{path}:") for line in result.lines()]


def test_contains_on_a_text_field_warns_with_the_line_and_a_fix(write: Write, check: Check) -> None:
    got = _warnings(write, check, """\
  - id: land
    record: petition
    where:
      subject: {contains: 征地}
    level: yellow
""")
    assert len(got) == 1 and got[0].startswith("6: 警告：")
    assert "'subject'" in got[0] and "contains" in got[0] and "matches: '.*征地.*'" in got[0]


def test_contains_on_periods_and_on_a_declared_list_is_fine(write: Write, check: Check, tmp_path: Path) -> None:
    assert _warnings(write, check, """\
  - id: quiet
    record: hotline
    window: {within: 24h, by: [community], aggregate: count}
    levels:
      - {level: blue, when: {count: {gte: 10}, periods: {contains: spring-festival-run-up}}}
""") == []


def test_contains_on_an_aggregate_warns(write: Write, check: Check) -> None:
    got = _warnings(write, check, """\
  - id: w
    record: hotline
    window: {within: 24h, by: [community], aggregate: count}
    levels:
      - {level: blue, when: {count: {contains: 3}}}
""")
    assert [g.split(": 警告：")[0] for g in got] == ["7"]


@pytest.mark.parametrize(("cond", "warns"), [
    ("type: {eq: lnad}", True),
    ("type: {eq: land}", False),
    ("type: {matches: 'lan.*x'}", True),
    ("type: {matches: 'wage_.*'}", False),
    ("status: {matches: 'open|mediating'}", False),
    ("person: {eq: anyone}", False),  # no declared values: nothing to say
])
def test_eq_or_matches_outside_the_declared_values(write: Write, check: Check, cond: str, warns: bool) -> None:
    got = _warnings(write, check, f"""\
  - id: d
    record: dispute
    where: {{{cond}}}
    level: blue
""")
    assert bool(got) is warns, got
    if warns:
        assert got[0].startswith("5: 警告：") and "land" in got[0]


def test_a_level_that_can_never_win(write: Write, check: Check) -> None:
    got = _warnings(write, check, """\
  - id: w
    record: hotline
    window: {within: 24h, by: [community], aggregate: count}
    levels:
      - {level: orange, when: {count: {gte: 2}}}
      - {level: yellow, when: {count: {gte: 3}}}
""")
    assert len(got) == 1 and got[0].startswith("8: 警告：yellow ") and "orange" in got[0]


def test_a_level_under_one_without_a_condition_can_never_win(write: Write, check: Check) -> None:
    got = _warnings(write, check, """\
  - id: p
    record: petition
    levels:
      - {level: red}
      - {level: blue, when: {people: {gte: 3}}}
""")
    assert [g.split(": 警告：")[0] for g in got] == ["7"]


@pytest.mark.parametrize("levels", [
    # the usual order: each higher level asks for more
    "[{level: blue, when: {count: {gte: 10}}}, {level: yellow, when: {count: {gte: 30}}}]",
    # a name the check does not know (a baseline's zscore, on another branch): undecidable, silent
    "[{level: yellow, when: {count: {gte: 3}}}, {level: orange, when: {count: {gte: 2}, zscore: {gte: 3}}}]",
    # a calendar period on the higher level only
    "[{level: yellow, when: {count: {gte: 3}}}, {level: orange, when: {count: {gte: 2}, periods: {contains: x}}}]",
    # `any` on the higher level: undecidable, silent
    "[{level: yellow, when: {count: {gte: 3}}}, {level: orange, when: {any: [{count: {gte: 2}}]}}]",
    # bounds that do not imply each other
    "[{level: yellow, when: {count: {gte: 3, lt: 5}}}, {level: orange, when: {count: {gte: 5}}}]",
])
def test_no_warning_when_the_higher_level_does_not_always_hold(levels: str) -> None:
    import yaml

    parsed = yaml.safe_load(levels)
    low, high = (parse_condition(x["when"]) for x in parsed)
    assert not _implies(low, high)


@given(a=st.integers(-5, 5), b=st.integers(-5, 5), strict_a=st.booleans(), strict_b=st.booleans(),
       x=st.integers(-7, 7))
def test_implication_of_lower_bounds_is_sound(a: int, b: int, strict_a: bool, strict_b: bool, x: int) -> None:
    # When the check says "count ≥/> a implies count ≥/> b", every count holding the first holds the second.
    opa, opb = ("gt" if strict_a else "gte"), ("gt" if strict_b else "gte")
    low, high = parse_condition({"count": {opa: a}}), parse_condition({"count": {opb: b}})
    holds_a = x > a if strict_a else x >= a
    holds_b = x > b if strict_b else x >= b
    if _implies(low, high) and holds_a:
        assert holds_b


def test_exists_is_implied_by_any_comparison(write: Write, check: Check) -> None:
    # A comparison on an absent field does not hold, so `people ≥ 3` implies `people exists`.
    got = _warnings(write, check, """\
  - id: p
    record: petition
    levels:
      - {level: blue, when: {people: {gte: 3}}}
      - {level: yellow, when: {people: {exists: true}}}
""")
    assert len(got) == 1 and got[0].startswith("6: 警告：blue ")


def test_warnings_do_not_change_the_exit_code_unless_strict(write: Write) -> None:
    from rules.language.check import check_paths
    from tests.rules.conftest import RULEBOOK

    path = write("r.yaml", HEAD + """\
  - id: land
    record: petition
    where: {subject: {contains: 征地}}
    level: yellow
""")
    assert check_paths([path], rulebook=RULEBOOK).ok
    strict = check_paths([path], rulebook=RULEBOOK, strict=True)
    assert not strict.ok and "1 warnings" in strict.summary()


def test_the_catalog_has_no_warnings(check: Check) -> None:
    from tests.rules.conftest import RULEBOOK

    assert check(RULEBOOK).warnings == ()
