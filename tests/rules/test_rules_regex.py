"""`matches`: the portable subset, its translation to durable_rules, and agreement with Python."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from rules.regex import RegexError, compile_regex, translate_regex


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (".*投诉.*", ".*投诉.*"),
        (r"\d{3}-\d+", "%d{3}-%d+"),
        (r"\w+", "[%w_]+"),
        (r"\s", "%s"),
        (r"a\.b", "a%.b"),
        (r"[\w.-]+", "[0-9A-Za-z%._-]+"),
        (r"[^\s\d]+", "[^%s0-9]+"),
        (r"[-a]", "[a-]"),
        (r"[\^]", "^"),
        ("(?:征地|拆迁)补偿?", "(征地|拆迁)补偿?"),
        ("x{2,3}", "x{2,3}"),
        ("100%", "100%%"),
    ],
)
def test_translation(pattern: str, expected: str) -> None:
    assert translate_regex(pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("^a", "anchor '^' is not supported"),
        ("a$", "anchor '$' is not supported"),
        ("a{1,}", "unbounded"),
        ("a{1,101}", "m ≤ n ≤ 100"),
        (r"\bword\b", r"escape \b is not supported"),
        (r"(a)\1", r"escape \1 is not supported"),
        ("(?=a)", "only plain"),
        ("(?P<x>a)", "only plain"),
        ("a*?", "lazy"),
        ("*a", "nothing to repeat"),
        ("", "non-empty"),
        ("a" * 201, "limit is 200"),
        ("[中-文]", "must be ASCII"),
        ("(a", "missing ')'"),
        ("a)", "unbalanced ')'"),
        ("[]a]", "empty class"),
        ("a\nb", "control characters"),
    ],
)
def test_outside_the_subset(pattern: str, message: str) -> None:
    with pytest.raises(RegexError, match=re.escape(message)):
        translate_regex(pattern)


def test_length_limit_is_inclusive() -> None:
    assert translate_regex("a" * 200) == "a" * 200


def test_python_side_uses_ascii_classes() -> None:
    assert compile_regex(r"\w+").fullmatch("abc_1")
    assert not compile_regex(r"\w+").fullmatch("征地")  # as in durable_rules (%w is ASCII)


_CASES: list[tuple[str, list[str]]] = [
    (".*投诉.*", ["我要投诉", "投诉", "没有", ""]),
    (r"\d{3}-\d+", ["123-4", "12-4", "123-", "abc-1"]),
    (r"[\w.-]+", ["a.b-c_1", "a b", "征"]),
    (r"[^\s\d]+", ["abc", "a c", "a1"]),
    ("(?:征地|拆迁)补偿?", ["征地补偿", "拆迁补", "征地", "补偿"]),
    (r"a\.b|c\*", ["a.b", "axb", "c*", "c"]),
    ("x{2,3}y?", ["xx", "xxxy", "x", "xxxx"]),
    ("[-a]+", ["a-a", "-", "b"]),
    (r"\s*\w+\s*", [" ab ", "ab", "a b"]),
]


def _durable_matches(pattern: str, value: str, name: str) -> bool:
    """Ask durable_rules itself whether its translated pattern matches ``value``."""
    from durable.engine import Host, MessageNotHandledException

    hits: list[Any] = []

    class _Host(Host):  # type: ignore[misc]
        def get_action(self, action_name: str) -> Any:
            def action(context: Any) -> None:
                hits.append(context)

            return action

    host = _Host()
    rule = {"all": [{"m": {"$mt": {"s": translate_regex(pattern)}}}], "run": "x"}
    host.register_rulesets({name: {"r": rule}})
    try:
        host.post(name, {"s": value})
    except MessageNotHandledException:
        return False
    return bool(hits)


_counter = itertools.count()


@pytest.mark.parametrize(("pattern", "values"), _CASES)
def test_durable_rules_agrees_with_python(pattern: str, values: list[str]) -> None:
    pytest.importorskip("durable.engine")
    python = compile_regex(pattern)
    for value in values:
        expected = python.fullmatch(value) is not None
        assert _durable_matches(pattern, value, f"re{next(_counter)}") == expected, (pattern, value)
